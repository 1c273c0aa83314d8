Require Import Reals Lra.
Open Scope R_scope.

Theorem r_sqrt_value : sqrt 16 = 4.
Proof.
Admitted.
