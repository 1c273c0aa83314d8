Require Import List.
Import ListNotations.

Theorem list_in_app : forall (A : Type) (x : A) (l1 l2 : list A), In x l1 -> In x (l1 ++ l2).
Proof.
Admitted.
