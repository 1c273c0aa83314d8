Require Import ZArith Lia.
Open Scope Z_scope.

Theorem z_parity : forall n : Z, Z.even (n * (n + 1)) = true.
Proof.
Admitted.
