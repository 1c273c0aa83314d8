Require Import List.
Import ListNotations.

Theorem list_concrete : rev [1; 2; 3] ++ [0] = [3; 2; 1; 0].
Proof.
Admitted.
