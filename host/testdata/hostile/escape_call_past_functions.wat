;; escape_call_past_functions.wat
;; call of function 5 in a module that defines four functions (0-3). Before
;; the upload was validated, indices 4 and 5 were injected helpers (out of gas,
;; stack limit), and the call
;; forged a stack-limit error. Expected: rejected at preparation.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (global.get $heap))
  (func $f (result i32) (i32.const 1))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (call 5)
    (i64.const 0))
)
