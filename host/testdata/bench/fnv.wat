;; A CPU-bound rule for the metering benchmark: FNV-1a over the input, repeated
;; N times (N = the input's length times 100), the hash billed as the amount.
;; It allocates nothing per call, so it can be called again and again on one
;; instance without a restore. Regenerate: wat2wasm fnv.wat -o fnv.wasm
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"total\":")
  (data (i32.const 16) ",\"currency\":\"CNY\",\"scale\":0,\"lines\":[{\"item\":\"fnv\",\"amount\":")
  (data (i32.const 96) "}]}")
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 4096))
  (func $copy (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.add (local.get $dst) (local.get $n)))
  ;; writes v (< 2^31) in decimal at $dst, returns the end
  (func $decimal (param $dst i32) (param $v i64) (result i32)
    (local $div i64) (local $started i32) (local $d i64)
    (local.set $div (i64.const 1000000000))
    (loop $l
      (local.set $d (i64.div_u (local.get $v) (local.get $div)))
      (if (i32.or (local.get $started) (i32.or (i64.ne (local.get $d) (i64.const 0)) (i64.eq (local.get $div) (i64.const 1))))
        (then
          (i32.store8 (local.get $dst) (i32.wrap_i64 (i64.add (local.get $d) (i64.const 48))))
          (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
          (local.set $started (i32.const 1))))
      (local.set $v (i64.rem_u (local.get $v) (local.get $div)))
      (local.set $div (i64.div_u (local.get $div) (i64.const 10)))
      (br_if $l (i64.ne (local.get $div) (i64.const 0))))
    (local.get $dst))
  (func (export "fm_bill") (param $p i32) (param $n i32) (result i64)
    (local $h i32) (local $i i32) (local $r i32) (local $end i32) (local $out i64)
    (local.set $h (i32.const 0x811c9dc5))
    (block $done
      (loop $rounds
        (br_if $done (i32.ge_u (local.get $r) (i32.mul (local.get $n) (i32.const 100))))
        (local.set $i (i32.const 0))
        (block $bytes_done
          (loop $bytes
            (br_if $bytes_done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $h (i32.mul
              (i32.xor (local.get $h) (i32.load8_u (i32.add (local.get $p) (local.get $i))))
              (i32.const 0x01000193)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rounds)))
    (local.set $out (i64.extend_i32_u (i32.and (local.get $h) (i32.const 0x7fffffff))))
    (local.set $end (call $copy (i32.const 8192) (i32.const 0) (i32.const 9)))
    (local.set $end (call $decimal (local.get $end) (local.get $out)))
    (local.set $end (call $copy (local.get $end) (i32.const 16) (i32.const 60)))
    (local.set $end (call $decimal (local.get $end) (local.get $out)))
    (local.set $end (call $copy (local.get $end) (i32.const 96) (i32.const 3)))
    (i64.or (i64.shl (i64.const 8192) (i64.const 32)) (i64.extend_i32_u (i32.sub (local.get $end) (i32.const 8192))))))
