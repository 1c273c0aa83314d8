Require Import List Lia.
Import ListNotations.

Theorem list_app_length : forall (A : Type) (l1 l2 : list A), length (l1 ++ l2) = length l2 + length l1.
Proof.
Admitted.
