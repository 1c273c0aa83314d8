Require Import Arith Lia.

Theorem nat_pow_growth : forall n : nat, n < 2 ^ n.
Proof.
Admitted.
