Require Import Arith Lia.

Theorem nat_square_mono : forall n m : nat, n <= m -> n * n <= m * m.
Proof.
Admitted.
