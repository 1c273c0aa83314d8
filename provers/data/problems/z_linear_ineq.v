Require Import ZArith Lia.
Open Scope Z_scope.

Theorem z_linear_ineq : forall x : Z, 3 * x + 2 < 11 -> x <= 2.
Proof.
Admitted.
