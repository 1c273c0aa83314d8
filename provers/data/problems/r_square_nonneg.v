Require Import Reals Lra Psatz.
Open Scope R_scope.

Theorem r_square_nonneg : forall x y : R, 0 <= x * x + y * y.
Proof.
Admitted.
