;; Found by fuzz/fuzz_decode.c (make fuzz FUZZ_GUARD=0): br_table whose
;; operand is a computed value (not a plain local) and whose taken target
;; is an enclosing loop crashed the interpreter (SIGSEGV reading a slot in
;; `run`), e.g. `wasmind run --invoke f THIS.wasm 5`. Expected: f(5)
;; loops until the fuzz harness's fuel runs out (WM_TRAP_INTERRUPTED);
;; f(1) returns 1 via the block.
(module
  (func (export "f") (param i32) (result i32)
    (block
      (loop
        (br_table 0 1 0 (i32.add (local.get 0) (i32.const 0)))))
    (local.get 0))
  (func (export "g") (result i32)
    (block
      (loop
        (br_table 0 1 0 (i32.eqz (i32.const 5)))))
    (i32.const 1)))
