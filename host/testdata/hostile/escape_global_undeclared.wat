;; escape_global_undeclared.wat
;; global.set of global 2 in a module that declares one global. Before the
;; upload was validated, index 2 was the injected call-depth counter: resetting
;; it on every call defeated the depth limit, and the compiler returned a bill
;; where the interpreter trapped. Expected: rejected at preparation.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (global.get $heap))
  (func $down (param $n i32) (result i32)
    (global.set 2 (i32.const 0))
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (call $down (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (drop (call $down (i32.const 100000)))
    (i64.const 0))
)
