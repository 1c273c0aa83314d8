Require Import Reals Lra.
Open Scope R_scope.

Theorem r_field_identity : forall x : R, x <> 0 -> (x * x + x) / x = x + 1.
Proof.
Admitted.
