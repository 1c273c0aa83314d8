Theorem logic_exists_forall : forall (A : Type) (R : A -> A -> Prop), (exists x, forall y, R x y) -> forall y, exists x, R x y.
Proof.
Admitted.
