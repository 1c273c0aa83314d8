Require Import Arith Lia.

Theorem nat_no_solution : forall x : nat, 3 * x <> 7.
Proof.
Admitted.
