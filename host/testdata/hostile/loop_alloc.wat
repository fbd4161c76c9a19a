;; loop_alloc.wat
;; Infinite loop in fm_alloc: the host's call to it is metered like fm_bill.
;; Expected: ErrOutOfGas.
(module
  (memory (export "memory") 1)
  (func $abi (export "fm_abi_v1"))

  (func (export "fm_alloc") (param $n i32) (result i32)
    (loop $forever (br $forever))
    (unreachable))
  (func (export "fm_bill") (param $ptr i32) (param $len i32) (result i64)
    (i64.const 0))
)
