Require Import Reals Lra Psatz.
Open Scope R_scope.

Theorem r_am_gm : forall a b : R, a * b <= (a * a + b * b) / 2.
Proof.
Admitted.
