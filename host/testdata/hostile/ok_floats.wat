;; ok_floats.wat
;; Well-behaved, NaN-producing: f32/f64 arithmetic whose results are NaN (0/0,
;; sqrt(-1), inf-inf, inf*0, NaN+NaN, sNaN+0, promote/demote/nearest of NaN), each
;; reinterpreted to its bit pattern and billed as amounts (f64: two lines, high and
;; low 32 bits; f32: one line), total = sum of lines. Without NaN canonicalization
;; the bits differ between x86-64, arm64 and wazero's interpreter vs compiler.
;; Expected: OK, and the same output bytes on every engine and machine.
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
  (data (i32.const 332) "f64_div_0_0\00") ;; f64_div_0_0
  (data (i32.const 344) "f64_sqrt_neg1\00") ;; f64_sqrt_neg1
  (data (i32.const 358) "f64_inf_sub_inf\00") ;; f64_inf_sub_inf
  (data (i32.const 374) "f64_inf_mul_0\00") ;; f64_inf_mul_0
  (data (i32.const 388) "f64_nan_add_nan\00") ;; f64_nan_add_nan
  (data (i32.const 404) "f64_snan_add_0\00") ;; f64_snan_add_0
  (data (i32.const 419) "f64_promote_nan\00") ;; f64_promote_nan
  (data (i32.const 435) "f64_nearest_nan\00") ;; f64_nearest_nan
  (data (i32.const 451) "f32_div_0_0\00") ;; f32_div_0_0
  (data (i32.const 463) "f32_sqrt_neg1\00") ;; f32_sqrt_neg1
  (data (i32.const 477) "f32_inf_sub_inf\00") ;; f32_inf_sub_inf
  (data (i32.const 493) "f32_demote_nan\00") ;; f32_demote_nan
  (data (i32.const 508) "f32_snan_mul_1\00") ;; f32_snan_mul_1
  (data (i32.const 523) "f64_third\00") ;; f64_third
  (data (i32.const 533) "_hi\00") ;; hi
  (data (i32.const 537) "_lo\00") ;; lo
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
  ;; signalling NaNs, little-endian: f64 0x7ff0000000000001 at 128, f32 0x7f800001 at 136
  (data (i32.const 128) "\01\00\00\00\00\00\f0\7f")
  (data (i32.const 136) "\01\00\80\7f")
  ;; operands live in mutable globals so that no compiler can fold the arithmetic
  (global $zero (mut f64) (f64.const 0))
  (global $one (mut f64) (f64.const 1))
  (global $minus1 (mut f64) (f64.const -1))
  (global $inf (mut f64) (f64.const inf))
  (global $zero32 (mut f32) (f32.const 0))
  (global $one32 (mut f32) (f32.const 1))
  (global $minus1_32 (mut f32) (f32.const -1))
  (global $inf32 (mut f32) (f32.const inf))
  ;; an f64 as two lines: <name>_hi (bits 63..32) and <name>_lo (bits 31..0)
  (func $line_f64 (param $name i32) (param $x f64)
    (local $b i64)
    (local.set $b (i64.reinterpret_f64 (local.get $x)))
    (call $line (local.get $name) (i32.const 533) (i64.shr_u (local.get $b) (i64.const 32)))
    (call $line (local.get $name) (i32.const 537) (i64.and (local.get $b) (i64.const 0xffffffff))))
  ;; an f32 as one line: its 32 bits
  (func $line_f32 (param $name i32) (param $x f32)
    (call $line (local.get $name) (i32.const 331) (i64.extend_i32_u (i32.reinterpret_f32 (local.get $x)))))

  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $start i32) (local $nan f64) (local $nan32 f32)
    (local.set $start (call $begin))
    (local.set $nan (f64.div (global.get $zero) (global.get $zero)))
    (call $line_f64 (i32.const 332) (local.get $nan))
    (call $line_f64 (i32.const 344) (f64.sqrt (global.get $minus1)))
    (call $line_f64 (i32.const 358) (f64.sub (global.get $inf) (global.get $inf)))
    (call $line_f64 (i32.const 374) (f64.mul (global.get $inf) (global.get $zero)))
    (call $line_f64 (i32.const 388)
      (f64.add (f64.sqrt (global.get $minus1)) (local.get $nan)))
    (call $line_f64 (i32.const 404) (f64.add (f64.load (i32.const 128)) (global.get $zero)))
    (local.set $nan32 (f32.div (global.get $zero32) (global.get $zero32)))
    (call $line_f64 (i32.const 419) (f64.promote_f32 (local.get $nan32)))
    (call $line_f64 (i32.const 435) (f64.nearest (local.get $nan)))
    (call $line_f32 (i32.const 451) (local.get $nan32))
    (call $line_f32 (i32.const 463) (f32.sqrt (global.get $minus1_32)))
    (call $line_f32 (i32.const 477) (f32.sub (global.get $inf32) (global.get $inf32)))
    (call $line_f32 (i32.const 493) (f32.demote_f64 (local.get $nan)))
    (call $line_f32 (i32.const 508) (f32.mul (f32.load (i32.const 136)) (global.get $one32)))
    ;; and one ordinary value, to show the arithmetic itself is kept: 1/3
    (call $line_f64 (i32.const 523) (f64.div (global.get $one) (f64.const 3)))
    (call $finish (local.get $start)))
)
