Require Import ZArith Lia.
Open Scope Z_scope.

Theorem z_factor : forall a b : Z, (a - b) * (a + b) = a * a - b * b.
Proof.
Admitted.
