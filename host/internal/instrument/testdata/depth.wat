;; fm_bill calls $rec(len(input)), which recurses that many times. The depth
;; counted is fm_bill's frame plus one per $rec frame.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"total\":0,\"currency\":\"CNY\",\"scale\":0,\"lines\":[]}")
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 1024))
  (func $rec (param $n i32)
    (if (local.get $n) (then (call $rec (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "fm_bill") (param $p i32) (param $n i32) (result i64)
    (call $rec (local.get $n))
    (i64.const 49)))
