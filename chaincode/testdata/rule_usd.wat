;; A rule that bills a constant 100 in USD, whatever the price book's currency.
(module
  (memory (export "memory") 1)
  (data (i32.const 16) "{\"total\":100,\"currency\":\"USD\",\"scale\":2,\"lines\":[{\"item\":\"flat\",\"amount\":100}]}")
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "fm_bill") (param i32 i32) (result i64) (i64.const 0x100000004f)))
