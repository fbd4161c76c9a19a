;; A rule that never returns: every call runs out of gas.
(module
  (memory (export "memory") 1)
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "fm_bill") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))
