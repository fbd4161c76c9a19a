;; simd_global.wat
;; A global of type v128 (SIMD) initialized by v128.const, and no SIMD
;; instruction in any body. Expected: rejected at preparation, the reason
;; naming SIMD (not "malformed binary: global section").
(module
  (memory (export "memory") 1)
  (global $v v128 (v128.const i32x4 1 2 3 4))
  (func $abi (export "fm_abi_v1"))
  (func $alloc (export "fm_alloc") (param $n i32) (result i32) (i32.const 1024))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64) (i64.const 0))
)
