;; memory64.wat
;; A 64-bit memory (memory64 proposal); fm_alloc uses no memory instruction.
;; Expected: ErrInvalidModule.
(module
  (memory (export "memory") i64 1)
  (func $abi (export "fm_abi_v1"))
  (func (export "fm_alloc") (param $n i32) (result i32) (i32.const 1024))
  (data (i64.const 256) "{\"total\":1,\"currency\":\"CNY\",\"scale\":2,\"lines\":[{\"item\":\"done\",\"amount\":1}]}")
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 75)))
)
