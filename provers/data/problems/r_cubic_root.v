Require Import Reals Lra Psatz.
Open Scope R_scope.

Theorem r_cubic_root : forall x : R, x ^ 3 - 6 * x ^ 2 + 11 * x - 6 = 0 -> x = 1 \/ x = 2 \/ x = 3.
Proof.
Admitted.
