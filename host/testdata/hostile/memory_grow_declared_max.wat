;; memory_grow_declared_max.wat
;; Declares a maximum of 2 pages, far below Profile.MaxMemoryPages: the
;; effective maximum is the lower of the two. memory.grow(1) from 1 page must
;; answer 1 (the old size), the next memory.grow(1) -1, memory.grow(0) 2, and
;; memory.size 2; any other answer traps.
;; Expected: OK, the constant bill of ok_fixed.
(module
  (memory (export "memory") 1 2)
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (i32.const 1024))
  (func $ret (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))
  ;; output: 102 bytes at 256
  (data (i32.const 256) "{\"total\":300,\"currency\":\"CNY\",\"scale\":2,\"lines\":[{\"item\":\"a\",\"amount\":100},{\"item\":\"b\",\"amount\":200}]}")
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const 1)) (then unreachable))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
    (if (i32.ne (memory.grow (i32.const 0)) (i32.const 2)) (then unreachable))
    (if (i32.ne (memory.size) (i32.const 2)) (then unreachable))
    (call $ret (i32.const 256) (i32.const 102)))
)
