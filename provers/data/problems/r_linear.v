Require Import Reals Lra.
Open Scope R_scope.

Theorem r_linear : forall x : R, 2 * x + 3 = 7 -> x = 2.
Proof.
Admitted.
