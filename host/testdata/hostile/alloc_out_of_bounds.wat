;; alloc_out_of_bounds.wat
;; fm_alloc returns 0xfffffff0, so the input cannot be written where the rule said.
;; The host must fail the call without writing anything.
;; Expected: ErrBadOutput naming fm_alloc.
(module
  (memory (export "memory") 1)
  (func $abi (export "fm_abi_v1"))

  (func (export "fm_alloc") (param $n i32) (result i32) (i32.const 0xfffffff0))
  (func $ret (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))
  ;; output: 75 bytes at 256
  (data (i32.const 256) "{\"total\":1,\"currency\":\"CNY\",\"scale\":2,\"lines\":[{\"item\":\"done\",\"amount\":1}]}")
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (call $ret (i32.const 256) (i32.const 75)))
)
