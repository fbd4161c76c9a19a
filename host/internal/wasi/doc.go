// Package wasi serves the part of WASI preview 1 (module
// "wasi_snapshot_preview1") that billing rules compiled by stock Go
// (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared) import, and serves it
// deterministically.
//
// # Why
//
// A billing rule runs on every endorsing peer of a blockchain network, and the
// peers' results are compared byte for byte: an endorsement policy is only
// satisfied when the peers agree on the bill, the log and the gas. An ordinary
// WASI host hands the guest the machine's wall clock, the operating system's
// random numbers, its environment variables, arguments and files, and any one
// of those makes two peers disagree. This package therefore answers every WASI
// function from the [Env] of the call alone (the transaction time and ID, the
// limits) and from the [State] the call has built up so far. Nothing reads the
// host machine: no clock, no entropy, no file, no environment variable. Two
// [State]s made from equal [Env]s answer any sequence of calls identically.
//
// Only the functions listed in [Functions] exist. Preparation uses that list
// as the allow-list of imports, so a module that needs anything else (a
// file-system call, a socket) is rejected before it can run.
//
// # Behaviour
//
// Clocks. clock_time_get on the realtime clock (id 0) returns Env.TimeNanos,
// the transaction time, on every read. The monotonic clock (id 1) starts at
// Env.TimeNanos and advances by exactly 1000 ns after each read, so the n-th
// read of a call (counting from 0) returns Env.TimeNanos + 1000·n plus whatever
// poll_oneoff has advanced it by: strictly increasing, yet identical on every
// peer. The process and thread CPU-time clocks (ids 2 and 3) are the same
// clock as the monotonic one and share its reads. Any other id is EINVAL; the
// precision argument is ignored. clock_res_get answers 1 ns for ids 0 to 3 and
// EINVAL otherwise. A negative Env.TimeNanos reads as 0 (WASI timestamps are
// unsigned); a monotonic reading saturates at 2^64-1 rather than wrapping.
//
// Randomness. random_get returns the stream SHA-256(TxID || c) for the
// big-endian uint64 block counter c = 0, 1, 2, ..., 32 bytes per block,
// continuing where the previous random_get of the same [State] stopped. The
// bytes are predictable by anyone who knows the transaction ID: they are fit for
// hash seeds and shuffles, never for secrets, and a rule has no secret to keep
// from the peers anyway.
//
// Output. fd_write to fd 1 (stdout) or fd 2 (stderr) appends to one log,
// shared by both, in call order. Once the log holds Env.MaxLogBytes bytes the
// rest is dropped and [State.LogTruncated] reports it; the guest is still told
// every byte was written, so its behaviour does not depend on the bound. A
// write whose byte count exceeds 2^32-1 (only possible with overlapping
// buffers) is EINVAL. fd_write to any other fd is EBADF.
//
// Files. There are none, and no preopened directories. fd_read on fd 0 reads 0
// bytes (end of file) without looking at the buffers; on any other fd it is
// EBADF. fd_close of fds 0 to 2 succeeds and changes nothing (the fd stays
// usable: keeping no per-call fd table keeps the state small, and closing stdio
// has no meaning here); other fds are EBADF. fd_seek is ESPIPE on fds 0 to 2
// and EBADF elsewhere. fd_fdstat_get describes fds 0 to 2 as character devices
// with no flags and every right; other fds are EBADF. fd_fdstat_set_flags
// accepts and ignores any flags on fds 0 to 2; other fds are EBADF.
// fd_prestat_get and fd_prestat_dir_name are always EBADF, which is how a
// guest learns there are no preopens.
//
// Arguments and environment. There is exactly one argument, "rule", and no
// environment variable.
//
// poll_oneoff. nsubscriptions == 0 is EINVAL, as is an unknown subscription tag
// (then nothing is written). Otherwise every subscription gets one event, in
// order, and the call never blocks. Clock subscriptions fire at once with errno
// 0; to make that true, the monotonic clock jumps forward: a relative timeout
// advances it by the timeout, an absolute one (flag 1) on clocks 1 to 3 moves it
// to at least the deadline. With several clock subscriptions the clock moves to
// the latest of them, since all are reported as fired. So Go's time.Sleep
// returns at once, having seen exactly the time it asked for pass. A clock
// subscription with an unknown clock id or unknown flags gets an event with
// errno EINVAL. fd_read and fd_write subscriptions get events with errno EBADF.
//
// sched_yield returns 0. proc_exit panics with [*ExitError]; the guest call
// fails with an error that wraps it (find it with errors.As), and the instance
// stays usable (mod.CloseWithExitCode is not used, since instances are reused).
//
// Memory. Every pointer and length the guest passes is bounds-checked before
// anything is read or written; a range outside linear memory (or a module with
// no memory) is EFAULT, never a Go panic. Checks come before effects, so a
// call that fails has changed neither guest memory nor the [State].
//
// # Gas
//
// Every host function calls Env.Charge exactly once, before its effects, with
// Env.GasPerHostCall plus a charge for the bytes it handles: one unit per byte
// it reads from or writes to guest memory, result words included, except where
// the table says otherwise. The prices make a unit of gas buy about the same
// time whatever the function (host/RATIONALE.md, "Gas"):
//
//	args_sizes_get, environ_sizes_get    8
//	args_get                             9 (one 4-byte pointer and "rule\x00")
//	environ_get                          0
//	clock_time_get, clock_res_get        8
//	random_get                           buf_len · Env.GasPerRandomByte (hashing, not copying)
//	fd_write                             16·iovs_len + bytes the log keeps + 4
//	fd_read (fd 0)                       4
//	fd_fdstat_get (fds 0 to 2)           24
//	poll_oneoff                          80·nsubscriptions + 4
//	everything else, and any error       0
//
// A call that returns an errno other than 0 is charged Env.GasPerHostCall only
// (poll_oneoff's per-event errnos do not count: the call itself succeeds).
// proc_exit is charged Env.GasPerHostCall before it panics. Charge may panic
// (the host does so when gas runs out); the panic passes through untouched.
//
// A host function called with no [State] in its context (see [WithState])
// behaves as for a fresh State of the zero Env: it charges nothing, logs
// nothing, and its monotonic clock does not advance from one call to the next,
// so a Go guest that sleeps would never wake. The host always attaches a State.
package wasi
