;; ok_cpu.wat
;; Well-behaved, CPU-bound: N = the decimal after the first "iterations": in the
;; input (1 if absent; e.g. put "usage":{"iterations":1000} in the input). Runs
;; FNV-1a (32-bit) over the whole input N times, chaining the hash, and bills one
;; line {"item":"cpu","quantity":N,"amount":hash}, total = hash.
;; For metered-vs-unmetered benchmarks. Expected: OK.
(module
  (memory (export "memory") 1)
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
  (data (i32.const 256) "{\"currency\":\"CNY\",\"scale\":2,\"lines\":[\00") ;; head
  (data (i32.const 294) ",\00") ;; comma
  (data (i32.const 296) "{\"item\":\"\00") ;; item
  (data (i32.const 306) "\",\"amount\":\00") ;; amount
  (data (i32.const 318) "}\00") ;; close
  (data (i32.const 320) "],\"total\":\00") ;; tail
  (data (i32.const 331) "\00") ;; empty
  (data (i32.const 332) "\"iterations\":\00") ;; key
  (data (i32.const 346) "cpu\00") ;; cpu
  (data (i32.const 350) "\",\"quantity\":\00") ;; qty
  (data (i32.const 364) ",\"amount\":\00") ;; amount2
  ;; ---- output writer: appends to a 64 KiB buffer; scratch for digits at 32..63 ----
  (global $out (mut i32) (i32.const 0))
  (global $total (mut i64) (i64.const 0))
  (global $nlines (mut i32) (i32.const 0))
  (func $emit_cstr (param $s i32)
    (local $c i32)
    (block $end
      (loop $next
        (local.set $c (i32.load8_u (local.get $s)))
        (br_if $end (i32.eqz (local.get $c)))
        (i32.store8 (global.get $out) (local.get $c))
        (global.set $out (i32.add (global.get $out) (i32.const 1)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $next))))
  ;; signed decimal
  (func $emit_i64 (param $v i64)
    (local $p i32) (local $u i64)
    (local.set $u (local.get $v))
    (if (i64.lt_s (local.get $v) (i64.const 0))
      (then
        (i32.store8 (global.get $out) (i32.const 45))
        (global.set $out (i32.add (global.get $out) (i32.const 1)))
        (local.set $u (i64.sub (i64.const 0) (local.get $v)))))
    (local.set $p (i32.const 64))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.wrap_i64 (i64.add (i64.rem_u (local.get $u) (i64.const 10)) (i64.const 48))))
      (local.set $u (i64.div_u (local.get $u) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $u) (i64.const 0))))
    (memory.copy (global.get $out) (local.get $p) (i32.sub (i32.const 64) (local.get $p)))
    (global.set $out (i32.add (global.get $out) (i32.sub (i32.const 64) (local.get $p)))))
  ;; one bill line {"item":"<name><suffix>","amount":<amount>}, added to the total
  (func $line (param $name i32) (param $suffix i32) (param $amount i64)
    (if (global.get $nlines) (then (call $emit_cstr (i32.const 294))))
    (call $emit_cstr (i32.const 296))
    (call $emit_cstr (local.get $name))
    (call $emit_cstr (local.get $suffix))
    (call $emit_cstr (i32.const 306))
    (call $emit_i64 (local.get $amount))
    (call $emit_cstr (i32.const 318))
    (global.set $total (i64.add (global.get $total) (local.get $amount)))
    (global.set $nlines (i32.add (global.get $nlines) (i32.const 1))))
  ;; starts a bill in a fresh buffer; returns the buffer's address
  (func $begin (result i32)
    (local $s i32)
    (local.set $s (call $alloc (i32.const 65536)))
    (global.set $out (local.get $s))
    (call $emit_cstr (i32.const 256))
    (local.get $s))
  ;; ends the bill with its total; returns the fm_bill result
  (func $finish (param $start i32) (result i64)
    (call $emit_cstr (i32.const 320))
    (call $emit_i64 (global.get $total))
    (call $emit_cstr (i32.const 318))
    (call $ret (local.get $start) (i32.sub (global.get $out) (local.get $start))))

  ;; N: the digits after the first "iterations": (13 bytes at 332), or 1
  (func $iterations (param $p i32) (param $len i32) (result i64)
    (local $i i32) (local $j i32) (local $c i32) (local $n i64)
    (block $absent
      (loop $scan
        (br_if $absent (i32.gt_u (i32.add (local.get $i) (i32.const 13)) (local.get $len)))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $cmp
            (br_if $mismatch
              (i32.ne (i32.load8_u (i32.add (local.get $p) (i32.add (local.get $i) (local.get $j))))
                      (i32.load8_u (i32.add (i32.const 332) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $cmp (i32.lt_u (local.get $j) (i32.const 13))))
          (local.set $i (i32.add (local.get $i) (i32.const 13)))
          (block $done
            (loop $digit
              (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
              (local.set $c (i32.sub (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 48)))
              (br_if $done (i32.gt_u (local.get $c) (i32.const 9)))
              (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 10)) (i64.extend_i32_u (local.get $c))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $digit)))
          (return (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i64.const 1))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $n i64) (local $k i64) (local $i i32) (local $h i32) (local $start i32)
    (local.set $n (call $iterations (local.get $ptr) (local.get $len)))
    (local.set $h (i32.const 0x811c9dc5))
    (block $done
      (loop $round
        (br_if $done (i64.ge_u (local.get $k) (local.get $n)))
        (local.set $i (i32.const 0))
        (block $end
          (loop $byte
            (br_if $end (i32.ge_u (local.get $i) (local.get $len)))
            (local.set $h
              (i32.mul (i32.xor (local.get $h) (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
                       (i32.const 16777619)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $byte)))
        (local.set $k (i64.add (local.get $k) (i64.const 1)))
        (br $round)))
    (local.set $start (call $begin))
    (call $emit_cstr (i32.const 296))
    (call $emit_cstr (i32.const 346))
    (call $emit_cstr (i32.const 350))
    (call $emit_i64 (local.get $n))
    (call $emit_cstr (i32.const 364))
    (call $emit_i64 (i64.extend_i32_u (local.get $h)))
    (call $emit_cstr (i32.const 318))
    (global.set $total (i64.extend_i32_u (local.get $h)))
    (call $finish (local.get $start)))
)
