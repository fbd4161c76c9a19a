;; escape_status_forged.wat
;; Sets global 3 (undeclared: the module has one) to 1, then traps. Before the
;; upload was validated, index 3 was the injected status global and the trap
;; was reported as out of gas. Expected: rejected at preparation.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (global.get $heap))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (global.set 3 (i32.const 1))
    (unreachable))
)
