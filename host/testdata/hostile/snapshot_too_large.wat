;; snapshot_too_large.wat
;; Declares 257 pages, one more than Profile.MaxSnapshotPages: every instance
;; would hold (and every call restore) more than the snapshot bound.
;; Expected: ErrMemoryLimit at load, naming the snapshot limit.
(module
  (memory (export "memory") 257)
  (func $abi (export "fm_abi_v1"))
  ;; bump allocator: input and buffers go at 1024 and up, growing memory as needed
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 0xffff))
                           (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  ;; (ptr << 32) | len, the fm_bill result
  (func $ret (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))
  ;; output: 102 bytes at 256
  (data (i32.const 256) "{\"total\":300,\"currency\":\"CNY\",\"scale\":2,\"lines\":[{\"item\":\"a\",\"amount\":100},{\"item\":\"b\",\"amount\":200}]}")
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (call $ret (i32.const 256) (i32.const 102)))
)
