;; gastime.wat: one tight loop per kind of work, for BenchmarkGasTime (ns per
;; gas) and the tests that pin what bulk memory ops and host calls cost.
;; Each kind is the same loop around one op, so the kinds compare like for like;
;; regenerate the binary with: wat2wasm gastime.wat -o gastime.wasm
;;
;; Input (raw bytes, not JSON): a kind letter, then an optional decimal N, then
;; optionally "*K". Without K a kind loops until the call runs out of gas (except
;; "e", which stops when a grow is refused); with K it runs K rounds and returns
;; the bill, so a test can count the gas of K rounds.
;;
;;   a  integer arithmetic
;;   b  call a leaf function
;;   c  memory.copy of N bytes
;;   d  memory.fill of N bytes
;;   e  memory.grow by N pages until refused
;;   f  memory.grow refused (N pages past the limit)
;;   g  random_get of N bytes
;;   h  fd_write, one iovec of N bytes
;;   i  fd_write, N empty iovecs
;;   j  clock_time_get (monotonic)
;;   k  clock_res_get
;;   l  args_sizes_get
;;   m  args_get
;;   n  environ_sizes_get
;;   o  environ_get
;;   p  sched_yield
;;   q  poll_oneoff, N clock subscriptions
;;   r  fd_fdstat_get
;;   s  fd_read (stdin: end of file)
;;   t  fd_close
;;   u  fd_seek
;;   v  fd_prestat_get
;;   w  fd_prestat_dir_name
;;   x  fd_fdstat_set_flags
;;   y  loads and stores over 64 KiB
;;   z  memory.grow by N pages until refused, storing to every 4 KiB it adds
;;
;; Memory: scratch below 512, the bill at 512, the input at 1024, the work area
;; from 64 KiB; each loop grows memory to what it needs before it starts.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $sched_yield (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $fd_fdstat_set_flags (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "fm_abi_v1"))
  (func (export "fm_alloc") (param i32) (result i32) (i32.const 1024))
  (data (i32.const 512) "{\"total\":1,\"currency\":\"CNY\",\"scale\":0,\"lines\":[{\"item\":\"w\",\"amount\":1}]}")
  (global $sink (mut i32) (i32.const 0))
  (func $leaf (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (func $bill (result i64) (i64.const 0x20000000048)) ;; 72 bytes at 512
  ;; ensure grows memory to at least $bytes bytes, or traps.
  (func $ensure (param $bytes i32)
    (local $have i32)
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $bytes) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $bytes) (local.get $have)) (i32.const 0xffff))
                                            (i32.const 16)))
                    (i32.const -1))
          (then unreachable)))))
  ;; number parses the decimal at p (up to end or a non-digit); returns it and
  ;; leaves the position in $pos.
  (global $pos (mut i32) (i32.const 0))
  (func $number (param $p i32) (param $end i32) (result i32)
    (local $v i32) (local $c i32)
    (block $done
      (loop $more
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (br_if $done (i32.gt_u (local.get $c) (i32.const 9)))
        (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $more)))
    (global.set $pos (local.get $p))
    (local.get $v))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (local $kind i32) (local $n i32) (local $k i32) (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $kind (i32.load8_u (local.get $ptr)))
    (local.set $n (call $number (i32.add (local.get $ptr) (i32.const 1)) (local.get $end)))
    (local.set $k (i32.const -1))
    (if (i32.lt_u (global.get $pos) (local.get $end))
      (then (local.set $k (call $number (i32.add (global.get $pos) (i32.const 1)) (local.get $end)))))
    ;; the work area: 64 KiB on; copy needs twice N, iovecs 8 bytes, subscriptions 80
    (call $ensure (i32.add (i32.const 65536)
      (select (i32.shl (local.get $n) (i32.const 1))
        (select (i32.shl (local.get $n) (i32.const 3))
          (select (i32.mul (local.get $n) (i32.const 80)) (local.get $n) (i32.eq (local.get $kind) (i32.const 113)))
          (i32.eq (local.get $kind) (i32.const 105)))
        (i32.eq (local.get $kind) (i32.const 99)))))
    (i32.store (i32.const 16) (i32.const 65536)) ;; one iovec: N bytes at 64 KiB
    (i32.store (i32.const 20) (local.get $n))
    (call_indirect (type $loop) (local.get $n) (local.get $k) (i32.sub (local.get $kind) (i32.const 97))))
  (type $loop (func (param i32 i32) (result i64)))
  ;; a: integer arithmetic
  (func $k_a (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (local.set $x (i32.mul (i32.add (i32.xor (local.get $x) (local.get $i)) (i32.const 7)) (i32.const 31)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; b: call a leaf function
  (func $k_b (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (local.set $x (call $leaf (local.get $x)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; c: memory.copy of N bytes
  (func $k_c (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (memory.copy (i32.add (i32.const 65536) (local.get $n)) (i32.const 65536) (local.get $n))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; d: memory.fill of N bytes
  (func $k_d (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (memory.fill (i32.const 65536) (local.get $i) (local.get $n))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; e: memory.grow by N pages until refused
  (func $k_e (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (if (i32.eq (memory.grow (local.get $n)) (i32.const -1)) (then (return (call $bill))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; f: memory.grow refused (N pages past the limit)
  (func $k_f (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (global.set $sink (memory.grow (i32.add (local.get $n) (i32.const 65536))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; g: random_get of N bytes
  (func $k_g (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $random_get (i32.const 65536) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; h: fd_write, one iovec of N bytes
  (func $k_h (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; i: fd_write, N empty iovecs
  (func $k_i (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_write (i32.const 1) (i32.const 65536) (local.get $n) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; j: clock_time_get (monotonic)
  (func $k_j (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; k: clock_res_get
  (func $k_k (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $clock_res_get (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; l: args_sizes_get
  (func $k_l (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; m: args_get
  (func $k_m (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $args_get (i32.const 64) (i32.const 32)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; n: environ_sizes_get
  (func $k_n (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $environ_sizes_get (i32.const 0) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; o: environ_get
  (func $k_o (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $environ_get (i32.const 0) (i32.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; p: sched_yield
  (func $k_p (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $sched_yield))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; q: poll_oneoff, N clock subscriptions
  (func $k_q (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $poll_oneoff (i32.const 65536) (i32.add (i32.const 65536) (i32.mul (local.get $n) (i32.const 48))) (local.get $n) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; r: fd_fdstat_get
  (func $k_r (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_fdstat_get (i32.const 1) (i32.const 128)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; s: fd_read (stdin: end of file)
  (func $k_s (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; t: fd_close
  (func $k_t (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_close (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; u: fd_seek
  (func $k_u (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; v: fd_prestat_get
  (func $k_v (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_prestat_get (i32.const 3) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; w: fd_prestat_dir_name
  (func $k_w (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_prestat_dir_name (i32.const 3) (i32.const 8) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; x: fd_fdstat_set_flags
  (func $k_x (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (drop (call $fd_fdstat_set_flags (i32.const 1) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; y: loads and stores over 64 KiB
  (func $k_y (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (local.set $c (i32.add (i32.const 65536) (i32.and (i32.shl (local.get $i) (i32.const 3)) (i32.const 0xfff8)))) (i64.store (local.get $c) (i64.add (i64.load (local.get $c)) (i64.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  ;; z: memory.grow by N pages until refused, storing to every 4 KiB it adds
  (func $k_z (type $loop) (param $n i32) (param $k i32) (result i64)
    (local $i i32) (local $x i32) (local $c i32)
    (loop $work
      (local.set $c (memory.grow (local.get $n))) (if (i32.eq (local.get $c) (i32.const -1)) (then (return (call $bill)))) (local.set $c (i32.shl (local.get $c) (i32.const 16))) (local.set $x (i32.add (local.get $c) (i32.shl (local.get $n) (i32.const 16)))) (loop $touch (i32.store8 (local.get $c) (i32.const 1)) (local.set $c (i32.add (local.get $c) (i32.const 4096))) (br_if $touch (i32.lt_u (local.get $c) (local.get $x))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $work (i32.ne (local.get $i) (local.get $k))))
    (global.set $sink (i32.add (global.get $sink) (local.get $x)))
    (call $bill))
  (table 26 funcref)
  (elem (i32.const 0) $k_a $k_b $k_c $k_d $k_e $k_f $k_g $k_h $k_i $k_j $k_k $k_l $k_m $k_n $k_o $k_p $k_q $k_r $k_s $k_t $k_u $k_v $k_w $k_x $k_y $k_z))
