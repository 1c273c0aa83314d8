Require Import Reals Lra.
Open Scope R_scope.

Theorem r_exp_pos_sum : forall x : R, 0 < exp x + exp (- x).
Proof.
Admitted.
