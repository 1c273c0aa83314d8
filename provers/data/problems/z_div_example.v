Require Import ZArith.
Open Scope Z_scope.

Theorem z_div_example : (123456789 * 987654321) mod 1000 = 269.
Proof.
Admitted.
