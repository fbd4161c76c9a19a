;; escape_local_past_declared.wat
;; local.set of index 3 in a function with two params and one local: one past
;; the declared locals. Before validation of the upload this was the injected
;; gas counter, and a loop that kept setting it ran 1e8 iterations for 10 gas.
;; Expected: rejected at preparation, naming the local index.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (global.get $heap))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $i i32)
    (loop $l
      (local.set 3 (i64.const 1000000))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000000))))
    (i64.const 0))
)
