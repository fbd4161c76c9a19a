package wasi

import (
	"context"
	"encoding/binary"
	"math"
	"reflect"
	"slices"

	"github.com/tetratelabs/wazero/api"
)

// errno is a WASI preview 1 error number.
type errno uint32

const (
	errnoSuccess errno = 0
	errnoBadf    errno = 8
	errnoFault   errno = 21
	errnoInval   errno = 28
	errnoSpipe   errno = 70
)

// The WASI preview 1 constants this package answers with.
const (
	clockRealtime         = 0
	clockThreadCputime    = 3 // the highest clock id
	eventTypeClock        = 0
	eventTypeFdWrite      = 2 // the highest event type
	subclockAbstime       = 1
	filetypeCharDevice    = 2
	allRights             = 1<<29 - 1 // fd_datasync (bit 0) to sock_shutdown (bit 28)
	subscriptionSize      = 48
	eventSize             = 32
	fdstatSize            = 24
	iovecSize             = 8
	stdin, stdout, stderr = 0, 1, 2
)

// argv0 is the one argument every rule sees.
const argv0 = "rule"

var le = binary.LittleEndian

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// hostFunc is one WASI function: its import name, signature and behaviour.
type hostFunc struct {
	name       string
	params     []api.ValueType
	results    []api.ValueType
	paramNames []string
	impl       func(c *call, p []uint64) errno
}

// errnoResult is the result list of every WASI function but proc_exit.
var errnoResult = []api.ValueType{i32}

// hostFuncs is every function served, sorted by name. Signatures are those of
// wazero's imports/wasi_snapshot_preview1, which follow the WASI preview 1
// witx; TestSignaturesMatchWazero checks them.
var hostFuncs = []hostFunc{
	{"args_get", []api.ValueType{i32, i32}, errnoResult, []string{"argv", "argv_buf"}, argsGet},
	{"args_sizes_get", []api.ValueType{i32, i32}, errnoResult, []string{"result.argc", "result.argv_len"}, argsSizesGet},
	{"clock_res_get", []api.ValueType{i32, i32}, errnoResult, []string{"id", "result.resolution"}, clockResGet},
	{"clock_time_get", []api.ValueType{i32, i64, i32}, errnoResult, []string{"id", "precision", "result.timestamp"}, clockTimeGet},
	{"environ_get", []api.ValueType{i32, i32}, errnoResult, []string{"environ", "environ_buf"}, environGet},
	{"environ_sizes_get", []api.ValueType{i32, i32}, errnoResult, []string{"result.environc", "result.environv_len"}, environSizesGet},
	{"fd_close", []api.ValueType{i32}, errnoResult, []string{"fd"}, fdClose},
	{"fd_fdstat_get", []api.ValueType{i32, i32}, errnoResult, []string{"fd", "result.stat"}, fdFdstatGet},
	{"fd_fdstat_set_flags", []api.ValueType{i32, i32}, errnoResult, []string{"fd", "flags"}, fdFdstatSetFlags},
	{"fd_prestat_dir_name", []api.ValueType{i32, i32, i32}, errnoResult, []string{"fd", "result.path", "result.path_len"}, badfAlways},
	{"fd_prestat_get", []api.ValueType{i32, i32}, errnoResult, []string{"fd", "result.prestat"}, badfAlways},
	{"fd_read", []api.ValueType{i32, i32, i32, i32}, errnoResult, []string{"fd", "iovs", "iovs_len", "result.nread"}, fdRead},
	{"fd_seek", []api.ValueType{i32, i64, i32, i32}, errnoResult, []string{"fd", "offset", "whence", "result.newoffset"}, fdSeek},
	{"fd_write", []api.ValueType{i32, i32, i32, i32}, errnoResult, []string{"fd", "iovs", "iovs_len", "result.nwritten"}, fdWrite},
	{"poll_oneoff", []api.ValueType{i32, i32, i32, i32}, errnoResult, []string{"in", "out", "nsubscriptions", "result.nevents"}, pollOneoff},
	{"proc_exit", []api.ValueType{i32}, nil, []string{"rval"}, procExit},
	{"random_get", []api.ValueType{i32, i32}, errnoResult, []string{"buf", "buf_len"}, randomGet},
	{"sched_yield", nil, errnoResult, nil, schedYield},
}

// call is one invocation of a host function.
type call struct {
	s       *State
	mod     api.Module
	charged bool
}

// charge charges the base cost plus bytes. Every host function charges once,
// before its effects; goFunc charges the base cost of one that did not.
func (c *call) charge(bytes uint64) {
	c.charged = true
	c.s.charge(c.mod, bytes)
}

// memory returns the calling module's memory, or nil if it has none. wazero
// returns a typed nil for a module without memory, hence the reflection.
func (c *call) memory() api.Memory {
	m := c.mod.Memory()
	if m == nil {
		return nil
	}
	if v := reflect.ValueOf(m); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil
	}
	return m
}

// goFunc adapts f to wazero's stack-based calling convention.
func (f *hostFunc) goFunc() api.GoModuleFunc {
	hasResult := len(f.results) > 0
	impl := f.impl
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		c := call{s: stateFrom(ctx), mod: mod}
		e := impl(&c, stack)
		if !c.charged {
			c.charge(0)
		}
		if hasResult {
			stack[0] = uint64(e)
		}
	}
}

// inRange reports whether [off, off+n) lies within mem. A range of 4 GiB,
// which only a full 4 GiB memory could hold, is refused too, so that every
// checked length fits the uint32 of api.Memory.Read.
func inRange(mem api.Memory, off uint32, n uint64) bool {
	return mem != nil && n <= math.MaxUint32 && uint64(off)+n <= uint64(mem.Size())
}

// view returns the n bytes at off, which inRange has checked.
func view(mem api.Memory, off uint32, n uint64) []byte {
	b, ok := mem.Read(off, uint32(n))
	if !ok {
		panic("wasi: memory range checked but unreadable") // unreachable
	}
	return b
}

func argsSizesGet(c *call, p []uint64) errno {
	mem, argc, bufLen := c.memory(), uint32(p[0]), uint32(p[1])
	if !inRange(mem, argc, 4) || !inRange(mem, bufLen, 4) {
		return errnoFault
	}
	c.charge(8)
	le.PutUint32(view(mem, argc, 4), 1)
	le.PutUint32(view(mem, bufLen, 4), uint32(len(argv0)+1))
	return errnoSuccess
}

func argsGet(c *call, p []uint64) errno {
	mem, argv, buf := c.memory(), uint32(p[0]), uint32(p[1])
	n := uint64(len(argv0) + 1)
	if !inRange(mem, argv, 4) || !inRange(mem, buf, n) {
		return errnoFault
	}
	c.charge(4 + n)
	le.PutUint32(view(mem, argv, 4), buf)
	b := view(mem, buf, n)
	copy(b, argv0)
	b[len(argv0)] = 0
	return errnoSuccess
}

func environSizesGet(c *call, p []uint64) errno {
	mem, count, bufLen := c.memory(), uint32(p[0]), uint32(p[1])
	if !inRange(mem, count, 4) || !inRange(mem, bufLen, 4) {
		return errnoFault
	}
	c.charge(8)
	le.PutUint32(view(mem, count, 4), 0)
	le.PutUint32(view(mem, bufLen, 4), 0)
	return errnoSuccess
}

// environGet has no variable to write.
func environGet(*call, []uint64) errno { return errnoSuccess }

func clockResGet(c *call, p []uint64) errno {
	mem, id, res := c.memory(), uint32(p[0]), uint32(p[1])
	if id > clockThreadCputime {
		return errnoInval
	}
	if !inRange(mem, res, 8) {
		return errnoFault
	}
	c.charge(8)
	le.PutUint64(view(mem, res, 8), 1)
	return errnoSuccess
}

func clockTimeGet(c *call, p []uint64) errno {
	mem, id, res := c.memory(), uint32(p[0]), uint32(p[2])
	if id > clockThreadCputime {
		return errnoInval
	}
	if !inRange(mem, res, 8) {
		return errnoFault
	}
	c.charge(8)
	var t uint64
	if id == clockRealtime {
		t = c.s.realtime()
	} else {
		t = c.s.readMonotonic()
	}
	le.PutUint64(view(mem, res, 8), t)
	return errnoSuccess
}

func randomGet(c *call, p []uint64) errno {
	mem, buf, n := c.memory(), uint32(p[0]), uint64(uint32(p[1]))
	if !inRange(mem, buf, n) {
		return errnoFault
	}
	c.charge(c.s.randomGas(n))
	c.s.fillRandom(view(mem, buf, n))
	return errnoSuccess
}

func fdWrite(c *call, p []uint64) errno {
	fd, iovs, nw := uint32(p[0]), uint32(p[1]), uint32(p[3])
	iovsBytes := uint64(uint32(p[2])) * iovecSize
	if fd != stdout && fd != stderr {
		return errnoBadf
	}
	mem := c.memory()
	if !inRange(mem, iovs, iovsBytes) || !inRange(mem, nw, 4) {
		return errnoFault
	}
	vec := view(mem, iovs, iovsBytes)
	var total uint64
	for i := 0; i < len(vec); i += iovecSize {
		ptr, n := le.Uint32(vec[i:]), le.Uint32(vec[i+4:])
		if !inRange(mem, ptr, uint64(n)) {
			return errnoFault
		}
		total += uint64(n)
	}
	if total > math.MaxUint32 {
		return errnoInval
	}
	// Each iovec is charged twice its 8 bytes: the host checks and walks it
	// twice. Bytes past the log's bound are dropped unread, so only the kept
	// ones are charged: a rule that writes on after the log is full pays for
	// the iovecs it makes the host walk, not for bytes nobody copies.
	c.charge(2*iovsBytes + min(total, uint64(c.s.logRoom())) + 4)
	vec = view(mem, iovs, iovsBytes)
	for i := 0; i < len(vec); i += iovecSize {
		ptr, n := le.Uint32(vec[i:]), le.Uint32(vec[i+4:])
		c.s.appendLog(view(mem, ptr, uint64(n)))
	}
	le.PutUint32(view(mem, nw, 4), uint32(total))
	return errnoSuccess
}

// fdRead answers end of file on stdin without looking at the buffers.
func fdRead(c *call, p []uint64) errno {
	fd, nread := uint32(p[0]), uint32(p[3])
	if fd != stdin {
		return errnoBadf
	}
	mem := c.memory()
	if !inRange(mem, nread, 4) {
		return errnoFault
	}
	c.charge(4)
	le.PutUint32(view(mem, nread, 4), 0)
	return errnoSuccess
}

// fdClose accepts closing stdio as a no-op.
func fdClose(_ *call, p []uint64) errno {
	if uint32(p[0]) > stderr {
		return errnoBadf
	}
	return errnoSuccess
}

func fdSeek(_ *call, p []uint64) errno {
	if uint32(p[0]) > stderr {
		return errnoBadf
	}
	return errnoSpipe
}

func fdFdstatGet(c *call, p []uint64) errno {
	fd, stat := uint32(p[0]), uint32(p[1])
	if fd > stderr {
		return errnoBadf
	}
	mem := c.memory()
	if !inRange(mem, stat, fdstatSize) {
		return errnoFault
	}
	c.charge(fdstatSize)
	b := view(mem, stat, fdstatSize)
	clear(b)
	b[0] = filetypeCharDevice       // fs_filetype u8; fs_flags u16 at 2 stays 0
	le.PutUint64(b[8:], allRights)  // fs_rights_base
	le.PutUint64(b[16:], allRights) // fs_rights_inheriting
	return errnoSuccess
}

// fdFdstatSetFlags accepts and ignores any flags on stdio.
func fdFdstatSetFlags(_ *call, p []uint64) errno {
	if uint32(p[0]) > stderr {
		return errnoBadf
	}
	return errnoSuccess
}

// badfAlways serves fd_prestat_get and fd_prestat_dir_name: no preopens.
func badfAlways(*call, []uint64) errno { return errnoBadf }

func pollOneoff(c *call, p []uint64) errno {
	in, out, nev := uint32(p[0]), uint32(p[1]), uint32(p[3])
	n := uint64(uint32(p[2]))
	if n == 0 {
		return errnoInval
	}
	mem := c.memory()
	inBytes, outBytes := n*subscriptionSize, n*eventSize
	if !inRange(mem, in, inBytes) || !inRange(mem, out, outBytes) || !inRange(mem, nev, 4) {
		return errnoFault
	}
	subs := view(mem, in, inBytes)
	for i := uint64(0); i < n; i++ {
		if subs[i*subscriptionSize+8] > eventTypeFdWrite {
			return errnoInval
		}
	}
	c.charge(inBytes + outBytes + 4)
	subs = slices.Clone(view(mem, in, inBytes)) // out may overlap in
	events := view(mem, out, outBytes)
	clear(events)
	now := c.s.monotonicNow()
	deadline := now
	for i := uint64(0); i < n; i++ {
		sub, ev := subs[i*subscriptionSize:], events[i*eventSize:]
		tag := sub[8]
		copy(ev[0:8], sub[0:8]) // userdata
		ev[10] = tag            // type
		e := errnoBadf          // fd_read and fd_write: no fd can be polled
		if tag == eventTypeClock {
			id, timeout, flags := le.Uint32(sub[16:]), le.Uint64(sub[24:]), le.Uint16(sub[40:])
			switch {
			case id > clockThreadCputime || flags&^subclockAbstime != 0:
				e = errnoInval
			case flags == 0:
				deadline = max(deadline, satAdd(now, timeout))
				e = errnoSuccess
			default: // absolute; the realtime clock never moves
				if id != clockRealtime {
					deadline = max(deadline, timeout)
				}
				e = errnoSuccess
			}
		}
		le.PutUint16(ev[8:], uint16(e))
	}
	c.s.advanceTo(deadline)
	le.PutUint32(view(mem, nev, 4), uint32(n))
	return errnoSuccess
}

func schedYield(*call, []uint64) errno { return errnoSuccess }

func procExit(c *call, p []uint64) errno {
	c.charge(0)
	panic(&ExitError{Code: uint32(p[0])})
}
