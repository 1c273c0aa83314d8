Require Import ZArith Lia.
Open Scope Z_scope.

Theorem z_square_nonneg : forall a : Z, 0 <= a * a.
Proof.
Admitted.
