Require Import Reals.
Open Scope R_scope.

Theorem r_ring_identity : forall a b : R, (a + b) ^ 2 = a ^ 2 + 2 * a * b + b ^ 2.
Proof.
Admitted.
