;; escape_br_past_function.wat
;; A br to label 1 at a function's top level: one past the function's own label.
;; Invalid as uploaded. Before the upload was validated as uploaded, the rewrite
;; wrapped the body in a block, so this branch left the wrapper past the code
;; that writes gas back, and ~1e8 loop iterations were billed ~10,000 gas.
;; Expected: rejected at preparation, naming the label.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (global.get $heap))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000000))))
    (i64.const 0)
    (br 1))
)
