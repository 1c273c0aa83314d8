Require Import Arith Lia.

Theorem nat_max_le : forall a b : nat, a <= Nat.max a b /\ b <= Nat.max a b.
Proof.
Admitted.
