;; memory_max_invalid.wat
;; Declares a memory maximum of 70,000 pages: more than the 65,536 pages a
;; 32-bit memory can have, so the module is invalid (it used to be capped
;; silently). Expected: rejected at preparation.
(module
  (memory (export "memory") 1 70000)
  (global $heap (mut i32) (i32.const 1024))
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (global.get $heap))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64) (i64.const 0))
)
