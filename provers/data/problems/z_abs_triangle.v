Require Import ZArith Lia.
Open Scope Z_scope.

Theorem z_abs_triangle : forall a b : Z, Z.abs (a + b) <= Z.abs a + Z.abs b.
Proof.
Admitted.
