Require Import Arith Lia.

Theorem nat_even_double : forall n : nat, exists k, n + n = 2 * k.
Proof.
Admitted.
