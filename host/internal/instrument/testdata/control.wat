;; Control flow the rewriter must preserve in non-leaf functions: an early
;; return from nested blocks, a branch to the function label, multiple results,
;; and a br_table that exits the function. The bill total is the sum of the
;; results, so any miscompiled exit shows up in the output.
(module
  (memory (export "memory") 1)
  (global $out (mut i32) (i32.const 2048))
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 1024))
  (func $leaf (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
  ;; returns (x+1, 10) early if x is odd, else (x, 20) via a branch to the function label
  (func $pair (param $x i64) (result i64 i64)
    (block
      (block
        (br_if 1 (i64.eqz (i64.and (local.get $x) (i64.const 1))))
        (return (call $leaf (local.get $x)) (i64.const 10))))
    (local.get $x) (i64.const 20)
    (br 0))
  ;; br_table: case 0 returns 100, case 1 returns 200, default falls to the end (300)
  (func $table (param $k i32) (result i64)
    (drop (call $leaf (i64.const 0)))
    (block
      (block
        (block (br_table 0 1 2 (local.get $k)))
        (return (i64.const 100)))
      (return (i64.const 200)))
    (i64.const 300))
  (func $digit (param $v i64)
    ;; write v (0..9999) as decimal at $out
    (local $d i64) (local $started i32) (local $div i64)
    (local.set $div (i64.const 1000))
    (loop $l
      (local.set $d (i64.div_u (local.get $v) (local.get $div)))
      (if (i32.or (local.get $started) (i32.or (i64.ne (local.get $d) (i64.const 0)) (i64.eq (local.get $div) (i64.const 1))))
        (then
          (i32.store8 (global.get $out) (i32.wrap_i64 (i64.add (local.get $d) (i64.const 48))))
          (global.set $out (i32.add (global.get $out) (i32.const 1)))
          (local.set $started (i32.const 1))))
      (local.set $v (i64.rem_u (local.get $v) (local.get $div)))
      (local.set $div (i64.div_u (local.get $div) (i64.const 10)))
      (br_if $l (i64.ne (local.get $div) (i64.const 0)))))
  (func $str (param $p i32) (param $n i32)
    (memory.copy (global.get $out) (local.get $p) (local.get $n))
    (global.set $out (i32.add (global.get $out) (local.get $n))))
  (data (i32.const 0) "{\"total\":")
  (data (i32.const 32) ",\"currency\":\"CNY\",\"scale\":0,\"lines\":[{\"item\":\"x\",\"amount\":")
  (data (i32.const 128) "}]}")
  (func (export "fm_bill") (param i32 i32) (result i64)
    (local $t i64)
    ;; pair(3) = (4,10), pair(4) = (4,20), table 0/1/5 = 100/200/300
    (call $pair (i64.const 3)) (i64.add) (local.set $t)
    (local.set $t (i64.add (local.get $t) (i64.add (call $pair (i64.const 4)))))
    (local.set $t (i64.add (local.get $t) (call $table (i32.const 0))))
    (local.set $t (i64.add (local.get $t) (call $table (i32.const 1))))
    (local.set $t (i64.add (local.get $t) (call $table (i32.const 5))))
    (call $str (i32.const 0) (i32.const 9))
    (call $digit (local.get $t))
    (call $str (i32.const 32) (i32.const 58))
    (call $digit (local.get $t))
    (call $str (i32.const 128) (i32.const 3))
    (i64.or (i64.const 8796093022208) ;; 2048 << 32
            (i64.extend_i32_u (i32.sub (global.get $out) (i32.const 2048))))))
