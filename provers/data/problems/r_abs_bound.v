Require Import Reals Lra.
Open Scope R_scope.

Theorem r_abs_bound : forall x : R, Rabs x < 1 -> x * x < 1.
Proof.
Admitted.
