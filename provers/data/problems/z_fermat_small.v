Require Import ZArith Lia.
Open Scope Z_scope.

Theorem z_fermat_small : forall x y z : Z, 0 < x -> 0 < y -> 0 < z -> x ^ 3 + y ^ 3 <> z ^ 3.
Proof.
Admitted.
