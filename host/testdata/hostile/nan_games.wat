;; nan_games.wat
;; Well-behaved, NaN games: f64/f32 min and max with NaN operands (quiet,
;; payload-carrying and signalling NaNs; which payload wins is engine-dependent:
;; Go's math.Min returns 0x7ff8000000000001, x86 minsd returns an operand), min/max
;; of -0 and +0, copysign of and *from* a NaN (copysign(1, 0/0) is -1 on x86-64 and
;; +1 on arm64 without canonicalization: the NaN's sign leaks into an ordinary
;; number), neg/abs of NaN, NaN == NaN, trunc_sat(NaN). Bit patterns are billed as
;; in ok_floats; the copysign-from-NaN results are billed as -1/+1 amounts.
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
  (data (i32.const 332) "min_nan_1\00") ;; min_nan_1
  (data (i32.const 342) "max_1_nan\00") ;; max_1_nan
  (data (i32.const 352) "min_qnan_payload_1\00") ;; min_qnan_payload_1
  (data (i32.const 371) "max_snan_1\00") ;; max_snan_1
  (data (i32.const 382) "min_snan_qnan\00") ;; min_snan_qnan
  (data (i32.const 396) "min_negzero_zero\00") ;; min_negzero_zero
  (data (i32.const 413) "max_zero_negzero\00") ;; max_zero_negzero
  (data (i32.const 430) "copysign_nan_neg1\00") ;; copysign_nan_neg1
  (data (i32.const 448) "neg_nan\00") ;; neg_nan
  (data (i32.const 456) "abs_nan\00") ;; abs_nan
  (data (i32.const 464) "f32_min_nan_1\00") ;; f32_min_nan_1
  (data (i32.const 478) "f32_max_nan_nan\00") ;; f32_max_nan_nan
  (data (i32.const 494) "sign_of_copysign_1_nan\00") ;; sign_of_copysign_1_nan
  (data (i32.const 517) "sign_of_f32_copysign_1_nan\00") ;; sign_of_f32_copysign_1_nan
  (data (i32.const 544) "nan_eq_nan\00") ;; nan_eq_nan
  (data (i32.const 555) "trunc_sat_nan\00") ;; trunc_sat_nan
  (data (i32.const 569) "_hi\00") ;; hi
  (data (i32.const 573) "_lo\00") ;; lo
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
  (global $zero (mut f64) (f64.const 0))
  (global $negzero (mut f64) (f64.const -0))
  (global $one (mut f64) (f64.const 1))
  (global $minus1 (mut f64) (f64.const -1))
  (global $qnan_payload (mut f64) (f64.const nan:0x8000000000001))
  (global $zero32 (mut f32) (f32.const 0))
  (global $one32 (mut f32) (f32.const 1))
  (func $line_f64 (param $name i32) (param $x f64)
    (local $b i64)
    (local.set $b (i64.reinterpret_f64 (local.get $x)))
    (call $line (local.get $name) (i32.const 569) (i64.shr_u (local.get $b) (i64.const 32)))
    (call $line (local.get $name) (i32.const 573) (i64.and (local.get $b) (i64.const 0xffffffff))))
  (func $line_f32 (param $name i32) (param $x f32)
    (call $line (local.get $name) (i32.const 331) (i64.extend_i32_u (i32.reinterpret_f32 (local.get $x)))))

  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $start i32) (local $nan f64) (local $nan32 f32) (local $snan f64)
    (local.set $start (call $begin))
    (local.set $nan (f64.div (global.get $zero) (global.get $zero)))
    (local.set $nan32 (f32.div (global.get $zero32) (global.get $zero32)))
    (local.set $snan (f64.load (i32.const 128)))
    (call $line_f64 (i32.const 332) (f64.min (local.get $nan) (global.get $one)))
    (call $line_f64 (i32.const 342) (f64.max (global.get $one) (local.get $nan)))
    (call $line_f64 (i32.const 352) (f64.min (global.get $qnan_payload) (global.get $one)))
    (call $line_f64 (i32.const 371) (f64.max (local.get $snan) (global.get $one)))
    (call $line_f64 (i32.const 382) (f64.min (local.get $snan) (global.get $qnan_payload)))
    (call $line_f64 (i32.const 396) (f64.min (global.get $negzero) (global.get $zero)))
    (call $line_f64 (i32.const 413) (f64.max (global.get $zero) (global.get $negzero)))
    (call $line_f64 (i32.const 430) (f64.copysign (local.get $nan) (global.get $minus1)))
    (call $line_f64 (i32.const 448) (f64.neg (local.get $nan)))
    (call $line_f64 (i32.const 456) (f64.abs (local.get $nan)))
    (call $line_f32 (i32.const 464) (f32.min (local.get $nan32) (global.get $one32)))
    (call $line_f32 (i32.const 478)
      (f32.max (f32.load (i32.const 136)) (local.get $nan32)))
    (call $line (i32.const 494) (i32.const 331)
      (i64.trunc_f64_s (f64.copysign (global.get $one) (local.get $nan))))
    (call $line (i32.const 517) (i32.const 331)
      (i64.trunc_f32_s (f32.copysign (global.get $one32) (local.get $nan32))))
    (call $line (i32.const 544) (i32.const 331)
      (i64.extend_i32_u (f64.eq (local.get $nan) (local.get $nan))))
    (call $line (i32.const 555) (i32.const 331) (i64.trunc_sat_f64_s (local.get $nan)))
    (call $finish (local.get $start)))
)
