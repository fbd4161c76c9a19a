;; ecs_typo: ecs_hourly.wat with a typo in one key ("public_ipz"), so public IPs are
;; never billed: the "broken" rule of the re-rating tests (rerate_test.go), which
;; fix it with ecs_hourly. Otherwise ecs_hourly: a billing rule for resource type "ecs" written by hand in WAT,
;; for the chaincode's tests and benchmark (chaincode/pricer_native.go holds the
;; same formula in Go). Build: wat2wasm ecs_typo.wat -o ecs_typo.wasm
;;
;; hours = ceil((period.end - period.start) / 3600)
;; for each spec size present and non-zero:
;;   vcpu            x vcpu_hour       -> line "vcpu"
;;   memory_gib      x memory_gib_hour -> line "memory"
;;   system_disk_gib x disk_gib_hour   -> line "system_disk"
;;   data_disk_gib   x disk_gib_hour   -> line "data_disk"
;;   public_ips      x public_ip_hour  -> line "public_ip"
;;   quantity = size x hours, amount = quantity x unit price
;; usage.egress_gib (if > 0) x egress_gib -> line "egress"
;; total = sum of the amounts. Other usage metrics are ignored.
;; Rule errors: missing_price (a needed unit price is absent), overflow (an
;; amount beyond int64), bad_period (end <= start).
;;
;; The input is the contract's (keys sorted, integers only), so the rule finds
;; each object by its key pattern ("spec":{ ...) and each integer by "name":.
(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (global $out (mut i32) (i32.const 0))
  (global $ovf (mut i32) (i32.const 0))
  (global $nlines (mut i32) (i32.const 0))

  (func (export "fm_abi_v1"))

  ;; fm_alloc: bump allocator, growing memory as needed.
  (func $alloc (export "fm_alloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 16)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))

  ;; find: index just after the first occurrence of pattern [$p,$p+$n) in [$s,$e), or -1.
  (func $find (param $s i32) (param $e i32) (param $p i32) (param $n i32) (result i32)
    (local $i i32) (local $j i32)
    (local.set $i (local.get $s))
    (block $none
      (loop $scan
        (br_if $none (i32.gt_s (i32.add (local.get $i) (local.get $n)) (local.get $e)))
        (local.set $j (i32.const 0))
        (block $miss
          (loop $cmp
            (if (i32.eq (local.get $j) (local.get $n))
              (then (return (i32.add (local.get $i) (local.get $n)))))
            (br_if $miss (i32.ne
              (i32.load8_u (i32.add (local.get $i) (local.get $j)))
              (i32.load8_u (i32.add (local.get $p) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cmp)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const -1))

  ;; obj_end: $p is just after an object's '{'; returns the index of its '}'.
  (func $obj_end (param $p i32) (param $e i32) (result i32)
    (local $depth i32) (local $c i32) (local $instr i32)
    (local.set $depth (i32.const 1))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_u (local.get $p) (local.get $e)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (local.get $instr)
          (then
            (if (i32.eq (local.get $c) (i32.const 92)) ;; backslash: skip next
              (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
              (else (if (i32.eq (local.get $c) (i32.const 34))
                (then (local.set $instr (i32.const 0)))))))
          (else
            (if (i32.eq (local.get $c) (i32.const 34)) (then (local.set $instr (i32.const 1))))
            (if (i32.eq (local.get $c) (i32.const 123))
              (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
            (if (i32.eq (local.get $c) (i32.const 125))
              (then
                (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                (if (i32.eqz (local.get $depth)) (then (return (local.get $p))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (local.get $e))

  ;; get: the non-negative integer after pattern "name": in [$s,$e), or -1.
  (func $get (param $s i32) (param $e i32) (param $k i32) (param $n i32) (result i64)
    (local $p i32) (local $v i64) (local $c i32)
    (if (i32.lt_s (local.get $s) (i32.const 0)) (then (return (i64.const -1))))
    (local.set $p (call $find (local.get $s) (local.get $e) (local.get $k) (local.get $n)))
    (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i64.const -1))))
    (block $done
      (loop $digits
        (br_if $done (i32.ge_u (local.get $p) (local.get $e)))
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (br_if $done (i32.gt_u (local.get $c) (i32.const 9)))
        (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10)) (i64.extend_i32_u (local.get $c))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $digits)))
    (local.get $v))

  ;; checked arithmetic on non-negative values: sets $ovf on overflow.
  (func $mul (param $a i64) (param $b i64) (result i64)
    (if (i32.and (i64.ne (local.get $a) (i64.const 0))
                 (i64.gt_u (local.get $b) (i64.div_u (i64.const 0x7fffffffffffffff) (local.get $a))))
      (then (global.set $ovf (i32.const 1)) (return (i64.const 0))))
    (i64.mul (local.get $a) (local.get $b)))
  (func $add (param $a i64) (param $b i64) (result i64)
    (if (i64.gt_u (local.get $b) (i64.sub (i64.const 0x7fffffffffffffff) (local.get $a)))
      (then (global.set $ovf (i32.const 1)) (return (i64.const 0))))
    (i64.add (local.get $a) (local.get $b)))

  ;; output writers
  (func $w (param $p i32) (param $n i32)
    (memory.copy (global.get $out) (local.get $p) (local.get $n))
    (global.set $out (i32.add (global.get $out) (local.get $n))))
  (func $wi (param $v i64)
    (local $buf i32) (local $i i32)
    (local.set $buf (i32.const 3072)) ;; scratch: 20 digits at 3072..3092
    (local.set $i (i32.const 3092))
    (loop $d
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $d (i64.ne (local.get $v) (i64.const 0))))
    (call $w (local.get $i) (i32.sub (i32.const 3092) (local.get $i))))

  (func $line (param $item i32) (param $ilen i32) (param $unit i32) (param $ulen i32)
              (param $q i64) (param $price i64) (param $amount i64)
    (if (global.get $nlines) (then (call $w (i32.const 2880) (i32.const 1))))
    (global.set $nlines (i32.add (global.get $nlines) (i32.const 1)))
    (call $w (i32.const 1472) (i32.const 9))
    (call $w (local.get $item) (local.get $ilen))
    (call $w (i32.const 1536) (i32.const 13))
    (call $wi (local.get $q))
    (call $w (i32.const 1600) (i32.const 9))
    (call $w (local.get $unit) (local.get $ulen))
    (call $w (i32.const 1664) (i32.const 15))
    (call $wi (local.get $price))
    (call $w (i32.const 1728) (i32.const 10))
    (call $wi (local.get $amount))
    (call $w (i32.const 1792) (i32.const 1)))

  ;; error output from $start: {"error":{"code":"C","message":"M M2"}}
  (func $err (param $start i32) (param $c i32) (param $cn i32) (param $m i32) (param $mn i32)
             (param $m2 i32) (param $m2n i32) (result i64)
    (global.set $out (local.get $start))
    (call $w (i32.const 1920) (i32.const 18))
    (call $w (local.get $c) (local.get $cn))
    (call $w (i32.const 1984) (i32.const 13))
    (call $w (local.get $m) (local.get $mn))
    (call $w (local.get $m2) (local.get $m2n))
    (call $w (i32.const 2048) (i32.const 3))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $start)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (global.get $out) (local.get $start)))))

  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $s i32) (local $e i32) (local $o i32)
    (local $per i32) (local $pere i32) (local $up i32) (local $upe i32)
    (local $sp i32) (local $spe i32) (local $us i32) (local $use i32)
    (local $cur i32) (local $cure i32) (local $res i32) (local $scale i64)
    (local $end i64) (local $start i64) (local $hours i64) (local $total i64)
    (local $i i32) (local $size i64) (local $price i64) (local $q i64) (local $a i64)
    (local $sk i32) (local $skn i32) (local $pk i32) (local $pkn i32) (local $it i32) (local $itn i32)
    (local.set $s (local.get $ptr))
    (local.set $e (i32.add (local.get $ptr) (local.get $len)))
    (local.set $o (call $alloc (i32.const 8192)))
    (global.set $out (local.get $o))
    ;; objects
    (local.set $per (call $find (local.get $s) (local.get $e) (i32.const 64) (i32.const 10)))
    (local.set $pere (call $obj_end (local.get $per) (local.get $e)))
    (local.set $up (call $find (local.get $s) (local.get $e) (i32.const 128) (i32.const 15)))
    (if (i32.ge_s (local.get $up) (i32.const 0)) (then (local.set $upe (call $obj_end (local.get $up) (local.get $e)))))
    (local.set $sp (call $find (local.get $s) (local.get $e) (i32.const 192) (i32.const 8)))
    (if (i32.ge_s (local.get $sp) (i32.const 0)) (then (local.set $spe (call $obj_end (local.get $sp) (local.get $e)))))
    (local.set $us (call $find (local.get $s) (local.get $e) (i32.const 256) (i32.const 9)))
    (if (i32.ge_s (local.get $us) (i32.const 0)) (then (local.set $use (call $obj_end (local.get $us) (local.get $e)))))
    ;; period
    (local.set $end (call $get (local.get $per) (local.get $pere) (i32.const 512) (i32.const 6)))
    (local.set $start (call $get (local.get $per) (local.get $pere) (i32.const 576) (i32.const 8)))
    (if (i64.le_s (local.get $end) (local.get $start))
      (then (return (call $err (local.get $o) (i32.const 2368) (i32.const 10) (i32.const 2432) (i32.const 31) (i32.const 0) (i32.const 0)))))
    (local.set $hours (i64.div_u (i64.add (i64.sub (local.get $end) (local.get $start)) (i64.const 3599)) (i64.const 3600)))
    ;; currency and scale
    (local.set $cur (call $find (local.get $s) (local.get $e) (i32.const 320) (i32.const 12)))
    (local.set $cure (local.get $cur))
    (block $q1 (loop $l1
      (br_if $q1 (i32.ge_u (local.get $cure) (local.get $e)))
      (br_if $q1 (i32.eq (i32.load8_u (local.get $cure)) (i32.const 34)))
      (local.set $cure (i32.add (local.get $cure) (i32.const 1)))
      (br $l1)))
    (local.set $res (call $find (local.get $s) (local.get $e) (i32.const 384) (i32.const 12)))
    (local.set $res (call $obj_end (local.get $res) (local.get $e)))
    (local.set $scale (call $get (local.get $res) (local.get $e) (i32.const 448) (i32.const 8)))
    ;; header
    (call $w (i32.const 1280) (i32.const 13))
    (call $w (local.get $cur) (i32.sub (local.get $cure) (local.get $cur)))
    (call $w (i32.const 1344) (i32.const 10))
    (call $wi (local.get $scale))
    (call $w (i32.const 1408) (i32.const 10))
    ;; spec lines: table of (spec key, price key, item) by index
    (local.set $i (i32.const 0))
    (block $lines_done
      (loop $lines
        (br_if $lines_done (i32.eq (local.get $i) (i32.const 6)))
        (block $next
          (if (i32.eq (local.get $i) (i32.const 0)) (then
            (local.set $sk (i32.const 640)) (local.set $skn (i32.const 7))
            (local.set $pk (i32.const 960)) (local.set $pkn (i32.const 12))
            (local.set $it (i32.const 2496)) (local.set $itn (i32.const 4))))
          (if (i32.eq (local.get $i) (i32.const 1)) (then
            (local.set $sk (i32.const 704)) (local.set $skn (i32.const 13))
            (local.set $pk (i32.const 1024)) (local.set $pkn (i32.const 18))
            (local.set $it (i32.const 2560)) (local.set $itn (i32.const 6))))
          (if (i32.eq (local.get $i) (i32.const 2)) (then
            (local.set $sk (i32.const 768)) (local.set $skn (i32.const 18))
            (local.set $pk (i32.const 1088)) (local.set $pkn (i32.const 16))
            (local.set $it (i32.const 2624)) (local.set $itn (i32.const 11))))
          (if (i32.eq (local.get $i) (i32.const 3)) (then
            (local.set $sk (i32.const 832)) (local.set $skn (i32.const 16))
            (local.set $pk (i32.const 1088)) (local.set $pkn (i32.const 16))
            (local.set $it (i32.const 2688)) (local.set $itn (i32.const 9))))
          (if (i32.eq (local.get $i) (i32.const 4)) (then
            (local.set $sk (i32.const 896)) (local.set $skn (i32.const 13))
            (local.set $pk (i32.const 1152)) (local.set $pkn (i32.const 17))
            (local.set $it (i32.const 2752)) (local.set $itn (i32.const 9))))
          (if (i32.eq (local.get $i) (i32.const 5))
            (then
              ;; egress: usage quantity, not a spec size held for hours
              (local.set $q (call $get (local.get $us) (local.get $use) (i32.const 1216) (i32.const 13)))
              (br_if $next (i64.le_s (local.get $q) (i64.const 0)))
              (local.set $pk (i32.const 1216)) (local.set $pkn (i32.const 13))
              (local.set $it (i32.const 2816)) (local.set $itn (i32.const 6)))
            (else
              (local.set $size (call $get (local.get $sp) (local.get $spe) (local.get $sk) (local.get $skn)))
              (br_if $next (i64.le_s (local.get $size) (i64.const 0)))
              (local.set $q (call $mul (local.get $size) (local.get $hours)))))
          (local.set $price (call $get (local.get $up) (local.get $upe) (local.get $pk) (local.get $pkn)))
          (if (i64.lt_s (local.get $price) (i64.const 0))
            (then (return (call $err (local.get $o) (i32.const 2112) (i32.const 13) (i32.const 2176) (i32.const 18)
                                (i32.add (local.get $pk) (i32.const 1)) (i32.sub (local.get $pkn) (i32.const 3))))))
          (local.set $a (call $mul (local.get $q) (local.get $price)))
          (local.set $total (call $add (local.get $total) (local.get $a)))
          (if (global.get $ovf)
            (then (return (call $err (local.get $o) (i32.const 2240) (i32.const 8) (i32.const 2304) (i32.const 23) (i32.const 0) (i32.const 0)))))
          (call $line (local.get $it) (local.get $itn) (i32.add (local.get $pk) (i32.const 1)) (i32.sub (local.get $pkn) (i32.const 3))
                      (local.get $q) (local.get $price) (local.get $a)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $lines)))
    (call $w (i32.const 1856) (i32.const 10))
    (call $wi (local.get $total))
    (call $w (i32.const 1792) (i32.const 1))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $o)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (global.get $out) (local.get $o)))))

  (data (i32.const 64) "\"period\":{") ;; 1: 10
  (data (i32.const 128) "\"unit_prices\":{") ;; 2: 15
  (data (i32.const 192) "\"spec\":{") ;; 3: 8
  (data (i32.const 256) "\"usage\":{") ;; 4: 9
  (data (i32.const 320) "\"currency\":\"") ;; 5: 12
  (data (i32.const 384) "\"resource\":{") ;; 6: 12
  (data (i32.const 448) "\"scale\":") ;; 7: 8
  (data (i32.const 512) "\"end\":") ;; 8: 6
  (data (i32.const 576) "\"start\":") ;; 9: 8
  (data (i32.const 640) "\"vcpu\":") ;; 10: 7
  (data (i32.const 704) "\"memory_gib\":") ;; 11: 13
  (data (i32.const 768) "\"system_disk_gib\":") ;; 12: 18
  (data (i32.const 832) "\"data_disk_gib\":") ;; 13: 16
  (data (i32.const 896) "\"public_ipz\":") ;; 14: 13 (the typo: public IPs are never billed)
  (data (i32.const 960) "\"vcpu_hour\":") ;; 15: 12
  (data (i32.const 1024) "\"memory_gib_hour\":") ;; 16: 18
  (data (i32.const 1088) "\"disk_gib_hour\":") ;; 17: 16
  (data (i32.const 1152) "\"public_ip_hour\":") ;; 18: 17
  (data (i32.const 1216) "\"egress_gib\":") ;; 19: 13
  (data (i32.const 1280) "{\"currency\":\"") ;; 20: 13
  (data (i32.const 1344) "\",\"scale\":") ;; 21: 10
  (data (i32.const 1408) ",\"lines\":[") ;; 22: 10
  (data (i32.const 1472) "{\"item\":\"") ;; 23: 9
  (data (i32.const 1536) "\",\"quantity\":") ;; 24: 13
  (data (i32.const 1600) ",\"unit\":\"") ;; 25: 9
  (data (i32.const 1664) "\",\"unit_price\":") ;; 26: 15
  (data (i32.const 1728) ",\"amount\":") ;; 27: 10
  (data (i32.const 1792) "}") ;; 28: 1
  (data (i32.const 1856) "],\"total\":") ;; 29: 10
  (data (i32.const 1920) "{\"error\":{\"code\":\"") ;; 30: 18
  (data (i32.const 1984) "\",\"message\":\"") ;; 31: 13
  (data (i32.const 2048) "\"}}") ;; 32: 3
  (data (i32.const 2112) "missing_price") ;; 33: 13
  (data (i32.const 2176) "no unit price for ") ;; 34: 18
  (data (i32.const 2240) "overflow") ;; 35: 8
  (data (i32.const 2304) "an amount exceeds int64") ;; 36: 23
  (data (i32.const 2368) "bad_period") ;; 37: 10
  (data (i32.const 2432) "period must end after it starts") ;; 38: 31
  (data (i32.const 2496) "vcpu") ;; 39: 4
  (data (i32.const 2560) "memory") ;; 40: 6
  (data (i32.const 2624) "system_disk") ;; 41: 11
  (data (i32.const 2688) "data_disk") ;; 42: 9
  (data (i32.const 2752) "public_ip") ;; 43: 9
  (data (i32.const 2816) "egress") ;; 44: 6
  (data (i32.const 2880) ",") ;; 45: 1
)
