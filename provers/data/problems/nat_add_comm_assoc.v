Require Import Arith Lia.

Theorem nat_add_comm_assoc : forall a b c : nat, a + (b + c) = c + (a + b).
Proof.
Admitted.
