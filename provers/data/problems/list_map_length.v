Require Import List.
Import ListNotations.

Theorem list_map_length : forall (A B : Type) (f : A -> B) (l : list A), length (map f l) = length l.
Proof.
Admitted.
