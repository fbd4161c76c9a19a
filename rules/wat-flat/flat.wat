;; rules/wat-flat: a billing rule written by hand in WebAssembly text, against
;; host/ABI.md alone (ABI v1), without the Go SDK: it shows that the ABI is
;; language-neutral.
;;
;; The rule bills a flat fee per billing period: the price book's
;; price.unit_prices.flat_fee, whatever the period's length, in the input's
;; currency and scale:
;;
;;   {"total":F,"currency":C,"scale":S,"lines":[{"item":"flat_fee","quantity":1,
;;    "unit":"period","unit_price":F,"amount":F}]}       (unit_price left out when F = 0)
;;
;; It reads "abi" (must be 1), "currency", "scale", "period" (start < end) and
;; "price"."unit_prices"."flat_fee", and skips every other field and value. Keys
;; are compared as written: a key spelled with escapes ("fl\u0061t_fee") is an
;; unknown key. Bad input gives a rule error, never a trap:
;;   1  bad_input       malformed input JSON
;;   2  bad_input       a number this rule reads is not an integer (ABI v1 numbers are integers: no fraction, no exponent)
;;   3  bad_input       a number this rule reads does not fit in int64
;;   4  unsupported_abi input is not ABI version 1
;;   5  bad_input       currency is missing or not 1 to 8 upper-case letters
;;   6  bad_input       scale is missing or not between 0 and 18
;;   7  bad_period      period is missing or does not end after it starts
;;   8  missing_price   no unit price for "flat_fee" in the price book entry
;;   9  negative_price  unit price "flat_fee" is negative
;;
;; Memory: page 0 holds the constants below and, from 4096, the output;
;; fm_alloc places the input at 65536, growing memory as needed.
;;
;; Regenerate flat.wasm after editing (TestWasmMatchesWat checks they match):
;;   wat2wasm flat.wat -o flat.wasm        (or: go generate ./rules/wat-flat)
;; The constants live in one data segment; the table below gives each one's
;; offset and length, which the code passes as (i32.const offset) (i32.const
;; length).

(module
  ;; k_abi          offset    0,   3 bytes: abi
  ;; k_currency     offset    4,   8 bytes: currency
  ;; k_scale        offset   12,   5 bytes: scale
  ;; k_period       offset   20,   6 bytes: period
  ;; k_start        offset   28,   5 bytes: start
  ;; k_end          offset   36,   3 bytes: end
  ;; k_price        offset   40,   5 bytes: price
  ;; k_unit_prices  offset   48,  11 bytes: unit_prices
  ;; k_flat_fee     offset   60,   8 bytes: flat_fee
  ;; o_total        offset   68,   9 bytes: {"total":
  ;; o_currency     offset   80,  13 bytes: ,"currency":"
  ;; o_scale        offset   96,  10 bytes: ","scale":
  ;; o_lines        offset  108,  57 bytes: ,"lines":[{"item":"flat_fee","quantity":1,"unit":"period"
  ;; o_unit_price   offset  168,  14 bytes: ,"unit_price":
  ;; o_amount       offset  184,  10 bytes: ,"amount":
  ;; o_end          offset  196,   3 bytes: }]}
  ;; o_err1         offset  200,  18 bytes: {"error":{"code":"
  ;; o_err2         offset  220,  13 bytes: ","message":"
  ;; o_err3         offset  236,   3 bytes: "}}
  ;; error table at offset 792: per error, code offset, code length, message offset, message length
  (memory (export "memory") 2)
  (data (i32.const 0) "abi\00currencyscale\00\00\00period\00\00start\00\00\00end\00price\00\00\00unit_prices\00flat_fee{\22total\22:\00\00\00,\22currency\22:\22\00\00\00\22,\22scale\22:\00\00,\22lines\22:[{\22item\22:\22flat_fee\22,\22quantity\22:1,\22unit\22:\22period\22\00\00\00,\22unit_price\22:\00\00,\22amount\22:\00\00}]}\00{\22error\22:{\22code\22:\22\00\00\22,\22message\22:\22\00\00\00\22}}\00bad_input\00\00\00malformed input JSONbad_input\00\00\00a number this rule reads is not an integer (ABI v1 numbers are integers: no fraction, no exponent)\00\00bad_input\00\00\00a number this rule reads does not fit in int64\00\00unsupported_abi\00input is not ABI version 1\00\00bad_input\00\00\00currency is missing or not 1 to 8 upper-case lettersbad_input\00\00\00scale is missing or not between 0 and 18bad_period\00\00period is missing or does not end after it starts\00\00\00missing_price\00\00\00no unit price for \5c\22flat_fee\5c\22 in the price book entry\00\00negative_price\00\00unit price \5c\22flat_fee\5c\22 is negative\00\f0\00\00\00\09\00\00\00\fc\00\00\00\14\00\00\00\10\01\00\00\09\00\00\00\1c\01\00\00b\00\00\00\80\01\00\00\09\00\00\00\8c\01\00\00.\00\00\00\bc\01\00\00\0f\00\00\00\cc\01\00\00\1a\00\00\00\e8\01\00\00\09\00\00\00\f4\01\00\004\00\00\00(\02\00\00\09\00\00\004\02\00\00(\00\00\00\5c\02\00\00\0a\00\00\00h\02\00\001\00\00\00\9c\02\00\00\0d\00\00\00\ac\02\00\006\00\00\00\e4\02\00\00\0e\00\00\00\f4\02\00\00#\00\00\00")

  ;; Scanner state: the input runs from $pos to $end.
  (global $pos (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))
  ;; The last string read: its bytes (between the quotes, as written), and
  ;; whether it had escapes.
  (global $sp (mut i32) (i32.const 0))
  (global $sn (mut i32) (i32.const 0))
  (global $sesc (mut i32) (i32.const 0))
  ;; The last integer read.
  (global $num (mut i64) (i64.const 0))
  ;; What the rule found.
  (global $cur_p (mut i32) (i32.const 0))
  (global $cur_n (mut i32) (i32.const 0))
  (global $scale (mut i64) (i64.const 0))
  (global $fee (mut i64) (i64.const 0))
  (global $have_fee (mut i32) (i32.const 0))
  ;; Output write cursor.
  (global $out (mut i32) (i32.const 0))

  ;; ABI v1 marker: never called.
  (func (export "fm_abi_v1"))

  ;; The input goes at 65536; grow memory to hold it.
  (func (export "fm_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.wrap_i64
        (i64.shr_u
          (i64.add (i64.extend_i32_u (local.get $size)) (i64.const 131071))
          (i64.const 16))))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then unreachable))))
    (i32.const 65536))

  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $e i32)
    (local $t i32)
    (global.set $pos (local.get $ptr))
    (global.set $end (i32.add (local.get $ptr) (local.get $len)))
    (global.set $have_fee (i32.const 0))
    (global.set $out (i32.const 4096))
    (local.set $e (call $parse))
    (if (i32.eqz (local.get $e))
      (then
        (call $emit (i32.const 68) (i32.const 9))
        (call $emit_int (global.get $fee))
        (call $emit (i32.const 80) (i32.const 13))
        (call $emit (global.get $cur_p) (global.get $cur_n))
        (call $emit (i32.const 96) (i32.const 10))
        (call $emit_int (global.get $scale))
        (call $emit (i32.const 108) (i32.const 57))
        (if (i64.ne (global.get $fee) (i64.const 0))
          (then
            (call $emit (i32.const 168) (i32.const 14))
            (call $emit_int (global.get $fee))))
        (call $emit (i32.const 184) (i32.const 10))
        (call $emit_int (global.get $fee))
        (call $emit (i32.const 196) (i32.const 3)))
      (else
        ;; Error table entry: code offset, code length, message offset, length.
        (local.set $t (i32.add (i32.const 792) (i32.mul (i32.sub (local.get $e) (i32.const 1)) (i32.const 16))))
        (call $emit (i32.const 200) (i32.const 18))
        (call $emit (i32.load (local.get $t)) (i32.load offset=4 (local.get $t)))
        (call $emit (i32.const 220) (i32.const 13))
        (call $emit (i32.load offset=8 (local.get $t)) (i32.load offset=12 (local.get $t)))
        (call $emit (i32.const 236) (i32.const 3))))
    (i64.or
      (i64.shl (i64.const 4096) (i64.const 32))
      (i64.extend_i32_u (i32.sub (global.get $out) (i32.const 4096)))))

  ;; ---- output

  (func $emit (param $p i32) (param $n i32)
    (block $done
      (loop $copy
        (br_if $done (i32.eqz (local.get $n)))
        (i32.store8 (global.get $out) (i32.load8_u (local.get $p)))
        (global.set $out (i32.add (global.get $out) (i32.const 1)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $copy))))

  ;; emit_int writes a non-negative integer in decimal (digits built
  ;; backwards in the scratch bytes 4064..4095).
  (func $emit_int (param $v i64)
    (local $p i32)
    (local.set $p (i32.const 4096))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    (call $emit (local.get $p) (i32.sub (i32.const 4096) (local.get $p))))

  ;; ---- scanner

  (func $peek (result i32)
    (if (result i32) (i32.lt_u (global.get $pos) (global.get $end))
      (then (i32.load8_u (global.get $pos)))
      (else (i32.const -1))))

  (func $ws
    (local $c i32)
    (block $done
      (loop $skip
        (local.set $c (call $peek))
        (br_if $done
          (i32.eqz
            (i32.or
              (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9)))
              (i32.or (i32.eq (local.get $c) (i32.const 10)) (i32.eq (local.get $c) (i32.const 13))))))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $skip))))

  ;; eat skips white space and then the byte $c, if it is next.
  (func $eat (param $c i32) (result i32)
    (call $ws)
    (if (result i32) (i32.eq (call $peek) (local.get $c))
      (then
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (i32.const 1))
      (else (i32.const 0))))

  ;; str reads a string at $pos into $sp/$sn/$sesc; 0 if malformed.
  (func $str (result i32)
    (local $c i32)
    (if (i32.ne (call $peek) (i32.const 34)) (then (return (i32.const 0))))
    (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
    (global.set $sp (global.get $pos))
    (global.set $sesc (i32.const 0))
    (loop $char
      (if (i32.ge_u (global.get $pos) (global.get $end)) (then (return (i32.const 0))))
      (local.set $c (i32.load8_u (global.get $pos)))
      (if (i32.eq (local.get $c) (i32.const 34))
        (then
          (global.set $sn (i32.sub (global.get $pos) (global.get $sp)))
          (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
          (return (i32.const 1))))
      (if (i32.lt_u (local.get $c) (i32.const 32)) (then (return (i32.const 0))))
      (if (i32.eq (local.get $c) (i32.const 92))
        (then
          (global.set $sesc (i32.const 1))
          (global.set $pos (i32.add (global.get $pos) (i32.const 1)))))
      (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
      (br $char))
    (i32.const 0))

  ;; keyis says whether the last string is exactly the n bytes at p.
  (func $keyis (param $p i32) (param $n i32) (result i32)
    (local $i i32)
    (if (i32.or (global.get $sesc) (i32.ne (global.get $sn) (local.get $n)))
      (then (return (i32.const 0))))
    (block $done
      (loop $cmp
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ne (i32.load8_u (i32.add (global.get $sp) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $p) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $cmp)))
    (i32.const 1))

  ;; int reads an integer into $num. Returns 0, or the error number:
  ;; 1 malformed, 2 not an integer, 3 outside int64.
  (func $int (result i32)
    (local $c i32)
    (local $neg i64)
    (local $v i64)
    (local $d i64)
    (local $range i32)
    (call $ws)
    (if (i32.eq (call $peek) (i32.const 45))
      (then
        (local.set $neg (i64.const 1))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))))
    (local.set $c (call $peek))
    (if (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
      (then (return (i32.const 1))))
    (if (i32.eq (local.get $c) (i32.const 48))
      (then (global.set $pos (i32.add (global.get $pos) (i32.const 1))))
      (else
        (block $done
          (loop $digit
            (local.set $c (call $peek))
            (br_if $done (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9)))
            (local.set $d (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48))))
            ;; the magnitude may reach 2^63 - 1, or 2^63 when negative
            (if (i64.gt_u (local.get $v)
                  (i64.div_u
                    (i64.sub (i64.add (i64.const 0x7fffffffffffffff) (local.get $neg)) (local.get $d))
                    (i64.const 10)))
              (then (local.set $range (i32.const 1)))
              (else (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10)) (local.get $d)))))
            (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
            (br $digit)))))
    (local.set $c (call $peek))
    (if (i32.or (i32.eq (local.get $c) (i32.const 46))
          (i32.or (i32.eq (local.get $c) (i32.const 101)) (i32.eq (local.get $c) (i32.const 69))))
      (then (return (i32.const 2))))
    (if (i32.le_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
      (then (return (i32.const 1)))) ;; a leading zero
    (if (local.get $range) (then (return (i32.const 3))))
    (global.set $num
      (if (result i64) (i64.eqz (local.get $neg))
        (then (local.get $v))
        (else (i64.sub (i64.const 0) (local.get $v)))))
    (i32.const 0))

  ;; skip skips any value; 0 if malformed. Containers are skipped by
  ;; bracket depth (strings inside them read as strings).
  (func $skip (result i32)
    (local $c i32)
    (local $depth i32)
    (local $start i32)
    (call $ws)
    (local.set $c (call $peek))
    (if (i32.eq (local.get $c) (i32.const 34)) (then (return (call $str))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 123)) (i32.eq (local.get $c) (i32.const 91)))
      (then
        (loop $walk
          (if (i32.ge_u (global.get $pos) (global.get $end)) (then (return (i32.const 0))))
          (local.set $c (i32.load8_u (global.get $pos)))
          (if (i32.eq (local.get $c) (i32.const 34))
            (then
              (if (i32.eqz (call $str)) (then (return (i32.const 0))))
              (br $walk)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 123)) (i32.eq (local.get $c) (i32.const 91)))
            (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
          (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 125)) (i32.eq (local.get $c) (i32.const 93)))
            (then
              (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
              (if (i32.eqz (local.get $depth)) (then (return (i32.const 1))))))
          (br $walk))))
    ;; A scalar: up to the next delimiter.
    (local.set $start (global.get $pos))
    (block $done
      (loop $scalar
        (local.set $c (call $peek))
        (br_if $done (i32.eq (local.get $c) (i32.const -1)))
        (br_if $done (i32.eq (local.get $c) (i32.const 44)))
        (br_if $done (i32.eq (local.get $c) (i32.const 125)))
        (br_if $done (i32.eq (local.get $c) (i32.const 93)))
        (br_if $done (i32.le_u (local.get $c) (i32.const 32)))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $scalar)))
    (i32.gt_u (global.get $pos) (local.get $start)))

  ;; key reads `"key":` of an object member; 0 if malformed.
  (func $key (result i32)
    (call $ws)
    (if (i32.eqz (call $str)) (then (return (i32.const 0))))
    (call $eat (i32.const 58)))

  ;; next reads the `,` or `}` after a member: 1 more members, 0 end of the
  ;; object, -1 malformed.
  (func $next (result i32)
    (if (call $eat (i32.const 44)) (then (return (i32.const 1))))
    (if (call $eat (i32.const 125)) (then (return (i32.const 0))))
    (i32.const -1))

  ;; ---- the input schema

  ;; parse reads the input; 0, or the error number (see the top of the file).
  (func $parse (result i32)
    (local $have i32) ;; bits: 1 abi, 2 currency, 4 scale, 8 period
    (local $r i32)
    (local $i i32)
    (if (i32.eqz (call $eat (i32.const 123))) (then (return (i32.const 1))))
    (if (i32.eqz (call $eat (i32.const 125)))
      (then
        (loop $member
          (if (i32.eqz (call $key)) (then (return (i32.const 1))))
          (block $value
            (if (call $keyis (i32.const 0) (i32.const 3))
              (then
                (local.set $r (call $int))
                (if (local.get $r) (then (return (local.get $r))))
                (if (i64.ne (global.get $num) (i64.const 1)) (then (return (i32.const 4))))
                (local.set $have (i32.or (local.get $have) (i32.const 1)))
                (br $value)))
            (if (call $keyis (i32.const 4) (i32.const 8))
              (then
                (call $ws)
                (if (i32.eqz (call $str)) (then (return (i32.const 5))))
                (if (i32.or (global.get $sesc)
                      (i32.gt_u (i32.sub (global.get $sn) (i32.const 1)) (i32.const 7)))
                  (then (return (i32.const 5))))
                (local.set $i (i32.const 0))
                (loop $letter
                  (if (i32.gt_u (i32.sub (i32.load8_u (i32.add (global.get $sp) (local.get $i))) (i32.const 65))
                                (i32.const 25))
                    (then (return (i32.const 5))))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $letter (i32.lt_u (local.get $i) (global.get $sn))))
                (global.set $cur_p (global.get $sp))
                (global.set $cur_n (global.get $sn))
                (local.set $have (i32.or (local.get $have) (i32.const 2)))
                (br $value)))
            (if (call $keyis (i32.const 12) (i32.const 5))
              (then
                (local.set $r (call $int))
                (if (local.get $r) (then (return (local.get $r))))
                (if (i64.gt_u (global.get $num) (i64.const 18)) (then (return (i32.const 6))))
                (global.set $scale (global.get $num))
                (local.set $have (i32.or (local.get $have) (i32.const 4)))
                (br $value)))
            (if (call $keyis (i32.const 20) (i32.const 6))
              (then
                (local.set $r (call $period))
                (if (local.get $r) (then (return (local.get $r))))
                (local.set $have (i32.or (local.get $have) (i32.const 8)))
                (br $value)))
            (if (call $keyis (i32.const 40) (i32.const 5))
              (then
                (local.set $r (call $price))
                (if (local.get $r) (then (return (local.get $r))))
                (br $value)))
            (if (i32.eqz (call $skip)) (then (return (i32.const 1)))))
          (local.set $r (call $next))
          (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 1))))
          (br_if $member (local.get $r)))))
    (call $ws)
    (if (i32.ne (global.get $pos) (global.get $end)) (then (return (i32.const 1))))
    (if (i32.eqz (i32.and (local.get $have) (i32.const 1))) (then (return (i32.const 4))))
    (if (i32.eqz (i32.and (local.get $have) (i32.const 2))) (then (return (i32.const 5))))
    (if (i32.eqz (i32.and (local.get $have) (i32.const 4))) (then (return (i32.const 6))))
    (if (i32.eqz (i32.and (local.get $have) (i32.const 8))) (then (return (i32.const 7))))
    (if (i32.eqz (global.get $have_fee)) (then (return (i32.const 8))))
    (if (i64.lt_s (global.get $fee) (i64.const 0)) (then (return (i32.const 9))))
    (i32.const 0))

  ;; period reads {"start":..,"end":..}; start < end.
  (func $period (result i32)
    (local $have i32)
    (local $start i64)
    (local $end i64)
    (local $r i32)
    (if (i32.eqz (call $eat (i32.const 123))) (then (return (i32.const 1))))
    (if (i32.eqz (call $eat (i32.const 125)))
      (then
        (loop $member
          (if (i32.eqz (call $key)) (then (return (i32.const 1))))
          (block $value
            (if (call $keyis (i32.const 28) (i32.const 5))
              (then
                (local.set $r (call $int))
                (if (local.get $r) (then (return (local.get $r))))
                (local.set $start (global.get $num))
                (local.set $have (i32.or (local.get $have) (i32.const 1)))
                (br $value)))
            (if (call $keyis (i32.const 36) (i32.const 3))
              (then
                (local.set $r (call $int))
                (if (local.get $r) (then (return (local.get $r))))
                (local.set $end (global.get $num))
                (local.set $have (i32.or (local.get $have) (i32.const 2)))
                (br $value)))
            (if (i32.eqz (call $skip)) (then (return (i32.const 1)))))
          (local.set $r (call $next))
          (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 1))))
          (br_if $member (local.get $r)))))
    (if (i32.ne (local.get $have) (i32.const 3)) (then (return (i32.const 7))))
    (if (i64.ge_s (local.get $start) (local.get $end)) (then (return (i32.const 7))))
    (i32.const 0))

  ;; price reads {"unit_prices":{..},..}.
  (func $price (result i32)
    (local $r i32)
    (if (i32.eqz (call $eat (i32.const 123))) (then (return (i32.const 1))))
    (if (call $eat (i32.const 125)) (then (return (i32.const 0))))
    (loop $member
      (if (i32.eqz (call $key)) (then (return (i32.const 1))))
      (if (call $keyis (i32.const 48) (i32.const 11))
        (then
          (local.set $r (call $unit_prices))
          (if (local.get $r) (then (return (local.get $r)))))
        (else
          (if (i32.eqz (call $skip)) (then (return (i32.const 1))))))
      (local.set $r (call $next))
      (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 1))))
      (br_if $member (local.get $r)))
    (i32.const 0))

  ;; unit_prices reads an object of integers and keeps flat_fee (once).
  (func $unit_prices (result i32)
    (local $r i32)
    (local $fee i32)
    (if (i32.eqz (call $eat (i32.const 123))) (then (return (i32.const 1))))
    (if (call $eat (i32.const 125)) (then (return (i32.const 0))))
    (loop $member
      (if (i32.eqz (call $key)) (then (return (i32.const 1))))
      (local.set $fee (call $keyis (i32.const 60) (i32.const 8)))
      (local.set $r (call $int))
      (if (local.get $r) (then (return (local.get $r))))
      (if (local.get $fee)
        (then
          (if (global.get $have_fee) (then (return (i32.const 1)))) ;; a duplicate
          (global.set $fee (global.get $num))
          (global.set $have_fee (i32.const 1))))
      (local.set $r (call $next))
      (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 1))))
      (br_if $member (local.get $r)))
    (i32.const 0))
)
