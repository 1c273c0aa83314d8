Require Import Arith Lia.

Theorem nat_linear_system : forall x y : nat, x + y = 10 -> x - y = 4 -> x = 7.
Proof.
Admitted.
