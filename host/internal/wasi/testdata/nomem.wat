;; A guest without linear memory: every pointer it passes is out of range.
;; Regenerate nomem.wasm with: wat2wasm nomem.wat -o nomem.wasm
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (func (export "call_clock_time_get") (param i32 i64 i32) (result i32)
    (call $clock_time_get (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call_fd_write") (param i32 i32 i32 i32) (result i32)
    (call $fd_write (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
)
