Require Import Arith.

Theorem nat_mod_small : (2 ^ 10) mod 7 = 2.
Proof.
Admitted.
