;; Seed: recursion, loops, locals, i64 arithmetic, a name section.
(module
  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  (func $fac_iter (export "fac_iter") (param i64) (result i64) (local i64)
    (local.set 1 (i64.const 1))
    (block $done
      (loop $top
        (br_if $done (i64.eqz (local.get 0)))
        (local.set 1 (i64.mul (local.get 1) (local.get 0)))
        (local.set 0 (i64.sub (local.get 0) (i64.const 1)))
        (br $top)))
    (local.get 1))
  (func (export "run") (result i64)
    (i64.add (call $fac (i64.const 20)) (call $fac_iter (i64.const 20))))
  (func (export "forever") (loop $l (br $l)))
  (func $deep (export "deep") (param i32) (result i32)
    (call $deep (i32.add (local.get 0) (i32.const 1)))))
