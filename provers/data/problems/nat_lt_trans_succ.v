Require Import Arith Lia.

Theorem nat_lt_trans_succ : forall n m : nat, n < m -> S n <= m.
Proof.
Admitted.
