Require Import ZArith Lia Psatz.
Open Scope Z_scope.

Theorem z_am_gm_int : forall a b : Z, 2 * a * b <= a * a + b * b.
Proof.
Admitted.
