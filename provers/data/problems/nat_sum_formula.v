Require Import Arith Lia.

Fixpoint sum_to (n : nat) : nat := match n with 0 => 0 | S k => n + sum_to k end.

Theorem nat_sum_formula : forall n : nat, 2 * sum_to n = n * (n + 1).
Proof.
Admitted.
