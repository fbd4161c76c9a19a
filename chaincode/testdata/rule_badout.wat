;; A rule whose output is not a valid ABI v1 output: a fractional total.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "{\"total\":1.5,\"currency\":\"CNY\",\"scale\":2,\"lines\":[]}")
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "fm_bill") (param i32 i32) (result i64) (i64.const 0x1000000033)))
