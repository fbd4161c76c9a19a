;; fm_bill loops len(input) times; each iteration is one metering segment at
;; the loop head. Gas must be affine in len: g(n) = a + b*n.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"total\":0,\"currency\":\"CNY\",\"scale\":0,\"lines\":[]}")
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "fm_bill") (param $p i32) (param $n i32) (result i64)
    (local $i i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (i64.const 49)))
