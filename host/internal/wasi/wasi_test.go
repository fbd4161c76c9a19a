package wasi

// The guest modules in testdata are committed as .wasm beside their .wat
// sources. After editing a .wat file, regenerate with:
//
//	cd testdata && wat2wasm guest.wat -o guest.wasm && wat2wasm nomem.wat -o nomem.wasm
//
// testdata/gorule is a stock Go program; TestStockGoRule builds it itself.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	wazerowasi "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

const (
	txTime   = int64(1767312000_123456789)
	pageSize = 65536
	gasBase  = 100
)

// guest is an instance of a testdata module linked to this package's host
// module in a fresh runtime.
type guest struct {
	t   *testing.T
	mod api.Module
}

func newGuest(t *testing.T, file string) *guest {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	t.Cleanup(func() { _ = r.Close(ctx) })
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := r.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName("guest"))
	if err != nil {
		t.Fatalf("instantiate %s: %v", file, err)
	}
	return &guest{t: t, mod: mod}
}

// call calls the wrapper of WASI function fn with s attached (none if nil).
func (g *guest) call(s *State, fn string, params ...uint64) (uint64, error) {
	ctx := context.Background()
	if s != nil {
		ctx = WithState(ctx, s)
	}
	f := g.mod.ExportedFunction("call_" + fn)
	if f == nil {
		g.t.Fatalf("guest has no call_%s", fn)
	}
	res, err := f.Call(ctx, params...)
	if err != nil || len(res) == 0 {
		return 0, err
	}
	return res[0], nil
}

// errno calls fn and returns its errno, failing the test on a trap.
func (g *guest) errno(s *State, fn string, params ...uint64) errno {
	g.t.Helper()
	res, err := g.call(s, fn, params...)
	if err != nil {
		g.t.Fatalf("%s%v: %v", fn, params, err)
	}
	return errno(res)
}

func (g *guest) write(off uint32, b []byte) {
	g.t.Helper()
	if !g.mod.Memory().Write(off, b) {
		g.t.Fatalf("write %d bytes at %d: out of range", len(b), off)
	}
}

func (g *guest) read(off, n uint32) []byte {
	g.t.Helper()
	b, ok := g.mod.Memory().Read(off, n)
	if !ok {
		g.t.Fatalf("read %d bytes at %d: out of range", n, off)
	}
	return slices.Clone(b)
}

func (g *guest) u32(off uint32) uint32 { return binary.LittleEndian.Uint32(g.read(off, 4)) }
func (g *guest) u64(off uint32) uint64 { return binary.LittleEndian.Uint64(g.read(off, 8)) }

// fill sets the whole memory to b, so tests can see what a call wrote.
func (g *guest) fill(b byte) {
	g.write(0, bytes.Repeat([]byte{b}, pageSize))
}

// charges records the Charge calls of a State.
type charges struct{ units []uint64 }

func (c *charges) env(env Env) Env {
	env.GasPerHostCall = gasBase
	env.Charge = func(mod api.Module, units uint64) {
		if mod == nil || mod.Name() != "guest" {
			panic("Charge called without the calling module")
		}
		c.units = append(c.units, units)
	}
	return env
}

func TestFunctions(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) {
		t.Errorf("Names() not sorted: %v", names)
	}
	if len(names) != 18 || len(Functions) != len(names) {
		t.Errorf("Names() has %d names, Functions %d; want 18 each", len(names), len(Functions))
	}
	for _, n := range names {
		if _, ok := Functions[n]; !ok {
			t.Errorf("Functions lacks %s", n)
		}
	}

	// Every signature is the one wazero's own WASI preview 1 module has.
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	ref, err := wazerowasi.NewBuilder(r).Compile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refFuncs := ref.ExportedFunctions()
	for name, sig := range Functions {
		def, ok := refFuncs[name]
		if !ok {
			t.Errorf("%s: not a WASI preview 1 function", name)
			continue
		}
		if !slices.Equal(sig.Params, def.ParamTypes()) || !slices.Equal(sig.Results, def.ResultTypes()) {
			t.Errorf("%s: signature %v -> %v, wazero has %v -> %v",
				name, sig.Params, sig.Results, def.ParamTypes(), def.ResultTypes())
		}
	}

	// The host module exports exactly Functions, once per runtime.
	r2 := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r2.Close(ctx)
	hostMod, err := Instantiate(ctx, r2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Instantiate(ctx, r2); err == nil {
		t.Error("a second Instantiate on the same runtime succeeded")
	}
	exported := hostMod.(api.Module).ExportedFunctionDefinitions()
	if len(exported) != len(Functions) {
		t.Errorf("host module exports %d functions, want %d", len(exported), len(Functions))
	}
	for name, def := range exported {
		sig := Functions[name]
		if !slices.Equal(sig.Params, def.ParamTypes()) || !slices.Equal(sig.Results, def.ResultTypes()) {
			t.Errorf("host module's %s is %v -> %v, Functions says %v -> %v",
				name, def.ParamTypes(), def.ResultTypes(), sig.Params, sig.Results)
		}
	}
}

// TestErrnoAndCharge calls every function on good and bad arguments and checks
// the errno and the single Charge call of each.
func TestErrnoAndCharge(t *testing.T) {
	const (
		p      = 1024        // a good pointer
		end    = pageSize    // one past the last byte
		noAddr = 0xFFFF_FFFF // far out of range
		fd3    = 3           // no such fd
		negFd  = 0xFFFF_FFFF // fd -1
		clkMax = 3           // highest clock id
	)
	tests := []struct {
		fn     string
		params []uint64
		want   errno
		bytes  uint64 // charged beyond the base
	}{
		{"args_sizes_get", []uint64{p, p + 4}, errnoSuccess, 8},
		{"args_sizes_get", []uint64{end - 2, p}, errnoFault, 0},
		{"args_sizes_get", []uint64{p, noAddr}, errnoFault, 0},
		{"args_get", []uint64{p, p + 8}, errnoSuccess, 9},
		{"args_get", []uint64{p, end - 4}, errnoFault, 0},
		{"args_get", []uint64{end, p}, errnoFault, 0},
		{"environ_sizes_get", []uint64{p, p + 4}, errnoSuccess, 8},
		{"environ_sizes_get", []uint64{noAddr, p}, errnoFault, 0},
		{"environ_get", []uint64{p, p + 8}, errnoSuccess, 0},
		{"clock_res_get", []uint64{0, p}, errnoSuccess, 8},
		{"clock_res_get", []uint64{clkMax, p}, errnoSuccess, 8},
		{"clock_res_get", []uint64{clkMax + 1, p}, errnoInval, 0},
		{"clock_res_get", []uint64{0, end - 7}, errnoFault, 0},
		{"clock_time_get", []uint64{0, 0, p}, errnoSuccess, 8},
		{"clock_time_get", []uint64{1, 1, p}, errnoSuccess, 8},
		{"clock_time_get", []uint64{2, 0, p}, errnoSuccess, 8},
		{"clock_time_get", []uint64{3, 0, p}, errnoSuccess, 8},
		{"clock_time_get", []uint64{4, 0, p}, errnoInval, 0},
		{"clock_time_get", []uint64{negFd, 0, p}, errnoInval, 0},
		{"clock_time_get", []uint64{1, 0, end - 8}, errnoSuccess, 8},
		{"clock_time_get", []uint64{1, 0, end - 7}, errnoFault, 0},
		{"random_get", []uint64{p, 100}, errnoSuccess, 100},
		{"random_get", []uint64{p, 0}, errnoSuccess, 0},
		{"random_get", []uint64{0, pageSize}, errnoSuccess, pageSize},
		{"random_get", []uint64{1, pageSize}, errnoFault, 0},
		{"random_get", []uint64{noAddr, 1}, errnoFault, 0},
		{"fd_write", []uint64{0, p, 0, p + 64}, errnoBadf, 0},
		{"fd_write", []uint64{fd3, p, 0, p + 64}, errnoBadf, 0},
		{"fd_write", []uint64{1, p, 0, p + 64}, errnoSuccess, 4},
		{"fd_write", []uint64{2, p, 0, end - 3}, errnoFault, 0},
		{"fd_write", []uint64{1, end - 7, 1, p}, errnoFault, 0},
		{"fd_read", []uint64{0, p, 1, p + 64}, errnoSuccess, 4},
		{"fd_read", []uint64{0, noAddr, 9, p + 64}, errnoSuccess, 4},
		{"fd_read", []uint64{0, p, 1, end - 3}, errnoFault, 0},
		{"fd_read", []uint64{1, p, 1, p + 64}, errnoBadf, 0},
		{"fd_read", []uint64{fd3, p, 1, p + 64}, errnoBadf, 0},
		{"fd_close", []uint64{0}, errnoSuccess, 0},
		{"fd_close", []uint64{2}, errnoSuccess, 0},
		{"fd_close", []uint64{fd3}, errnoBadf, 0},
		{"fd_close", []uint64{negFd}, errnoBadf, 0},
		{"fd_seek", []uint64{0, 0, 0, p}, errnoSpipe, 0},
		{"fd_seek", []uint64{2, 5, 1, noAddr}, errnoSpipe, 0},
		{"fd_seek", []uint64{fd3, 0, 0, p}, errnoBadf, 0},
		{"fd_fdstat_get", []uint64{0, p}, errnoSuccess, 24},
		{"fd_fdstat_get", []uint64{2, end - 24}, errnoSuccess, 24},
		{"fd_fdstat_get", []uint64{1, end - 23}, errnoFault, 0},
		{"fd_fdstat_get", []uint64{fd3, p}, errnoBadf, 0},
		{"fd_fdstat_get", []uint64{negFd, p}, errnoBadf, 0},
		{"fd_fdstat_set_flags", []uint64{1, 4}, errnoSuccess, 0},
		{"fd_fdstat_set_flags", []uint64{fd3, 0}, errnoBadf, 0},
		{"fd_prestat_get", []uint64{fd3, p}, errnoBadf, 0},
		{"fd_prestat_get", []uint64{0, p}, errnoBadf, 0},
		{"fd_prestat_dir_name", []uint64{fd3, p, 16}, errnoBadf, 0},
		{"poll_oneoff", []uint64{p, p + 512, 0, p + 1020}, errnoInval, 0},
		{"poll_oneoff", []uint64{end - 47, p, 1, p + 1020}, errnoFault, 0},
		{"poll_oneoff", []uint64{p, end - 31, 1, p + 1020}, errnoFault, 0},
		{"poll_oneoff", []uint64{p, p + 512, 1, noAddr}, errnoFault, 0},
		{"poll_oneoff", []uint64{0, 0, 0x4000_0000, p}, errnoFault, 0},
		{"sched_yield", nil, errnoSuccess, 0},
	}
	g := newGuest(t, "guest.wasm")
	for _, tc := range tests {
		var c charges
		s := NewState(c.env(Env{TimeNanos: txTime, TxID: "tx", MaxLogBytes: 64}))
		g.fill(0)
		if got := g.errno(s, tc.fn, tc.params...); got != tc.want {
			t.Errorf("%s%v = errno %d, want %d", tc.fn, tc.params, got, tc.want)
		}
		if want := []uint64{gasBase + tc.bytes}; !slices.Equal(c.units, want) {
			t.Errorf("%s%v charged %v, want %v", tc.fn, tc.params, c.units, want)
		}
	}
}

func TestArgsEnvironFdstat(t *testing.T) {
	g := newGuest(t, "guest.wasm")
	s := NewState(Env{})
	g.fill(0xAA)

	if e := g.errno(s, "args_sizes_get", 0, 4); e != 0 {
		t.Fatalf("args_sizes_get: errno %d", e)
	}
	if argc, size := g.u32(0), g.u32(4); argc != 1 || size != 5 {
		t.Errorf("args_sizes_get = %d, %d; want 1, 5", argc, size)
	}
	if e := g.errno(s, "args_get", 16, 100); e != 0 {
		t.Fatalf("args_get: errno %d", e)
	}
	if argv0 := g.u32(16); argv0 != 100 {
		t.Errorf("argv[0] = %d, want 100", argv0)
	}
	if got := g.read(100, 6); !bytes.Equal(got, []byte("rule\x00\xAA")) {
		t.Errorf("argv buffer = %q, want \"rule\\x00\" then untouched memory", got)
	}

	if e := g.errno(s, "environ_sizes_get", 200, 204); e != 0 {
		t.Fatalf("environ_sizes_get: errno %d", e)
	}
	if n, size := g.u32(200), g.u32(204); n != 0 || size != 0 {
		t.Errorf("environ_sizes_get = %d, %d; want 0, 0", n, size)
	}
	if e := g.errno(s, "environ_get", 300, 400); e != 0 {
		t.Fatalf("environ_get: errno %d", e)
	}
	if got := g.read(300, 4); !bytes.Equal(got, []byte{0xAA, 0xAA, 0xAA, 0xAA}) {
		t.Errorf("environ_get wrote %x", got)
	}

	for fd := uint64(0); fd <= 2; fd++ {
		g.fill(0xAA)
		if e := g.errno(s, "fd_fdstat_get", fd, 8); e != 0 {
			t.Fatalf("fd_fdstat_get(%d): errno %d", fd, e)
		}
		want := []byte{
			0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
			2, 0, 0, 0, 0, 0, 0, 0, // character device, no flags
			0xFF, 0xFF, 0xFF, 0x1F, 0, 0, 0, 0, // every right
			0xFF, 0xFF, 0xFF, 0x1F, 0, 0, 0, 0,
			0xAA,
		}
		if got := g.read(0, uint32(len(want))); !bytes.Equal(got, want) {
			t.Errorf("fd_fdstat_get(%d) wrote\n%x, want\n%x", fd, got, want)
		}
	}
}

func TestClocks(t *testing.T) {
	g := newGuest(t, "guest.wasm")
	s := NewState(Env{TimeNanos: txTime})
	read := func(id uint64) uint64 {
		t.Helper()
		if e := g.errno(s, "clock_time_get", id, 1000, 8); e != 0 {
			t.Fatalf("clock_time_get(%d): errno %d", id, e)
		}
		return g.u64(8)
	}
	const tx = uint64(txTime)
	steps := []struct {
		id   uint64
		want uint64
	}{
		{0, tx}, {1, tx}, {0, tx}, {1, tx + 1000}, {2, tx + 2000}, {3, tx + 3000},
		{0, tx}, {1, tx + 4000},
	}
	for i, st := range steps {
		if got := read(st.id); got != st.want {
			t.Errorf("read %d of clock %d = %d, want %d", i, st.id, got, st.want)
		}
	}
	for id := uint64(0); id <= 3; id++ {
		if e := g.errno(s, "clock_res_get", id, 16); e != 0 || g.u64(16) != 1 {
			t.Errorf("clock_res_get(%d) = errno %d, resolution %d; want 0, 1", id, e, g.u64(16))
		}
	}

	// Each State has its own clock: a new call starts again at TimeNanos.
	s = NewState(Env{TimeNanos: txTime})
	if got := read(1); got != tx {
		t.Errorf("first monotonic read of a new State = %d, want %d", got, tx)
	}
	// A negative time reads as 0.
	s = NewState(Env{TimeNanos: -5})
	if r, m, m2 := read(0), read(1), read(1); r != 0 || m != 0 || m2 != 1000 {
		t.Errorf("TimeNanos -5: realtime %d, monotonic %d then %d; want 0, 0, 1000", r, m, m2)
	}
}

// sha256Stream is the documented random stream, computed independently.
func sha256Stream(txID string, n int) []byte {
	var out []byte
	for c := uint64(0); len(out) < n; c++ {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(txID), c))
		out = append(out, sum[:]...)
	}
	return out[:n]
}

func TestRandomDeterminism(t *testing.T) {
	g := newGuest(t, "guest.wasm")
	// draw runs random_get with the given chunk sizes and returns the bytes.
	draw := func(env Env, chunks ...uint32) []byte {
		t.Helper()
		s := NewState(env)
		var out []byte
		for _, n := range chunks {
			if e := g.errno(s, "random_get", 64, uint64(n)); e != 0 {
				t.Fatalf("random_get(%d): errno %d", n, e)
			}
			out = append(out, g.read(64, n)...)
		}
		return out
	}
	env := Env{TimeNanos: txTime, TxID: "f1e2d3"}
	want := sha256Stream(env.TxID, 100)
	for _, chunks := range [][]uint32{{100}, {1, 31, 32, 36}, {7, 0, 33, 60}, {32, 32, 32, 4}} {
		if got := draw(env, chunks...); !bytes.Equal(got, want) {
			t.Errorf("chunks %v: got %x, want %x", chunks, got, want)
		}
	}
	if a, b := draw(env, 100), draw(Env{TxID: "f1e2d4"}, 100); bytes.Equal(a, b) {
		t.Error("different TxIDs gave the same random bytes")
	}
	if got := draw(Env{}, 40); !bytes.Equal(got, sha256Stream("", 40)) {
		t.Errorf("empty TxID: got %x", got)
	}
}

// TestSameEnvSameAnswers runs one mixed sequence of calls on two States of the
// same Env and compares everything the guest and the host saw.
func TestSameEnvSameAnswers(t *testing.T) {
	run := func(env Env) (mem, log []byte) {
		g := newGuest(t, "guest.wasm")
		s := NewState(env)
		msg := []byte("hello")
		g.write(2000, msg)
		g.write(1000, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 2000), uint32(len(msg))))
		var sub [48]byte
		sub[8] = 0 // clock
		binary.LittleEndian.PutUint32(sub[16:], 1)
		binary.LittleEndian.PutUint64(sub[24:], 5_000_000)
		g.write(3000, sub[:])
		calls := []struct {
			fn     string
			params []uint64
		}{
			{"clock_time_get", []uint64{0, 0, 0}},
			{"clock_time_get", []uint64{1, 0, 8}},
			{"random_get", []uint64{16, 50}},
			{"fd_write", []uint64{1, 1000, 1, 100}},
			{"poll_oneoff", []uint64{3000, 4000, 1, 104}},
			{"clock_time_get", []uint64{1, 0, 200}},
			{"random_get", []uint64{208, 20}},
		}
		for _, c := range calls {
			if e := g.errno(s, c.fn, c.params...); e != 0 {
				t.Fatalf("%s: errno %d", c.fn, e)
			}
		}
		return g.read(0, pageSize), s.Log()
	}
	env := Env{TimeNanos: txTime, TxID: "tx-1", MaxLogBytes: 100}
	mem1, log1 := run(env)
	mem2, log2 := run(env)
	if !bytes.Equal(mem1, mem2) || !bytes.Equal(log1, log2) {
		t.Error("two States of the same Env answered differently")
	}
	if string(log1) != "hello" {
		t.Errorf("log = %q, want \"hello\"", log1)
	}
	env.TxID = "tx-2"
	if mem3, _ := run(env); bytes.Equal(mem1, mem3) {
		t.Error("a different TxID changed nothing")
	}
}

func TestFdWriteLog(t *testing.T) {
	type write struct {
		fd   uint64
		iovs []string
	}
	tests := []struct {
		name          string
		max           int
		writes        []write
		wantLog       string
		wantTruncated bool
	}{
		{"one write", 100, []write{{1, []string{"hello"}}}, "hello", false},
		{"stdout and stderr interleave", 100,
			[]write{{1, []string{"a", "b"}}, {2, []string{"c"}}, {1, []string{"d"}}}, "abcd", false},
		{"exactly full", 5, []write{{1, []string{"he", "llo"}}}, "hello", false},
		{"cut inside an iovec", 4, []write{{1, []string{"he", "llo"}}}, "hell", true},
		{"cut between writes", 5, []write{{1, []string{"hello"}}, {2, []string{"!"}}}, "hello", true},
		{"empty writes after full", 5, []write{{1, []string{"hello"}}, {1, []string{"", ""}}, {2, nil}}, "hello", false},
		{"no log", 0, []write{{2, []string{"x"}}}, "", true},
		{"negative bound", -1, []write{{1, []string{"x"}}}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuest(t, "guest.wasm")
			var c charges
			s := NewState(c.env(Env{MaxLogBytes: tc.max}))
			for _, w := range tc.writes {
				// iovec array at 0, data from 1024, nwritten at 512.
				var vec []byte
				data := uint32(1024)
				total := 0
				for _, iov := range w.iovs {
					g.write(data, []byte(iov))
					vec = binary.LittleEndian.AppendUint32(vec, data)
					vec = binary.LittleEndian.AppendUint32(vec, uint32(len(iov)))
					data += uint32(len(iov))
					total += len(iov)
				}
				g.write(0, vec)
				g.write(512, []byte{0xAA, 0xAA, 0xAA, 0xAA})
				c.units = nil
				kept := min(total, max(tc.max-len(s.Log()), 0)) // bytes past the bound are not charged
				if e := g.errno(s, "fd_write", w.fd, 0, uint64(len(w.iovs)), 512); e != 0 {
					t.Fatalf("fd_write: errno %d", e)
				}
				if n := g.u32(512); n != uint32(total) {
					t.Errorf("nwritten = %d, want %d", n, total)
				}
				if want := []uint64{gasBase + uint64(16*len(w.iovs)+kept+4)}; !slices.Equal(c.units, want) {
					t.Errorf("charged %v, want %v", c.units, want)
				}
			}
			if got := string(s.Log()); got != tc.wantLog {
				t.Errorf("log = %q, want %q", got, tc.wantLog)
			}
			if s.LogTruncated() != tc.wantTruncated {
				t.Errorf("truncated = %v, want %v", s.LogTruncated(), tc.wantTruncated)
			}
		})
	}
}

func TestFdWriteFaults(t *testing.T) {
	g := newGuest(t, "guest.wasm")
	s := NewState(Env{MaxLogBytes: 100})
	iov := func(pairs ...uint32) []byte {
		var b []byte
		for _, v := range pairs {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	tests := []struct {
		name string
		vec  []byte
		n    uint64
		nw   uint64
		want errno
	}{
		{"second buffer out of range", iov(1024, 3, pageSize-2, 3), 2, 512, errnoFault},
		{"buffer pointer far out", iov(1024, 3, 0xFFFF_FFF0, 0x20), 2, 512, errnoFault},
		{"iovec array past the end", iov(1024, 3), 0x2000_0000, 512, errnoFault},
		{"nwritten out of range", iov(1024, 3), 1, pageSize - 1, errnoFault},
	}
	for _, tc := range tests {
		g.fill(0)
		g.write(1024, []byte("abc"))
		g.write(0, tc.vec)
		if e := g.errno(s, "fd_write", 1, 0, tc.n, tc.nw); e != tc.want {
			t.Errorf("%s: errno %d, want %d", tc.name, e, tc.want)
		}
		if tc.nw < pageSize-4 && g.u32(uint32(tc.nw)) != 0 {
			t.Errorf("%s: nwritten was written", tc.name)
		}
	}
	if len(s.Log()) != 0 || s.LogTruncated() {
		t.Errorf("failed writes logged %q (truncated %v)", s.Log(), s.LogTruncated())
	}

	// 65,537 iovecs of 64 KiB each, all over the same bytes, add up to more
	// than nwritten can hold. Their array needs more than one page.
	if _, ok := g.mod.Memory().Grow(9); !ok {
		t.Fatal("cannot grow the guest memory")
	}
	n := uint64(pageSize + 1)
	g.write(0, bytes.Repeat(iov(0, pageSize), int(n)))
	g.write(8*pageSize+64, []byte{0xAA, 0xAA, 0xAA, 0xAA})
	if e := g.errno(s, "fd_write", 1, 0, n, 8*pageSize+64); e != errnoInval {
		t.Errorf("2^32+2^16 bytes: errno %d, want %d", e, errnoInval)
	}
	if nw := g.u32(8*pageSize + 64); nw != 0xAAAAAAAA || len(s.Log()) != 0 {
		t.Errorf("a refused write wrote nwritten %#x and logged %d bytes", nw, len(s.Log()))
	}
}

// subscription encodes a WASI subscription record.
func subscription(userdata uint64, tag byte, a uint32, timeout uint64, flags uint16) []byte {
	b := make([]byte, 48)
	binary.LittleEndian.PutUint64(b[0:], userdata)
	b[8] = tag
	binary.LittleEndian.PutUint32(b[16:], a) // clock id, or fd
	binary.LittleEndian.PutUint64(b[24:], timeout)
	binary.LittleEndian.PutUint64(b[32:], 1000) // precision
	binary.LittleEndian.PutUint16(b[40:], flags)
	return b
}

// event is a decoded WASI event record.
type event struct {
	userdata uint64
	errno    uint16
	typ      byte
	nbytes   uint64
	flags    uint16
}

func TestPollOneoff(t *testing.T) {
	const tx = uint64(txTime)
	tests := []struct {
		name    string
		subs    [][]byte
		overlap bool // events written over the subscriptions
		want    []event
		mono    uint64 // the next monotonic read, after one read at tx
	}{
		{"relative sleep", [][]byte{subscription(7, 0, 1, 1_000_000, 0)},
			false, []event{{userdata: 7}}, tx + 1000 + 1_000_000},
		{"zero timeout", [][]byte{subscription(7, 0, 1, 0, 0)},
			false, []event{{userdata: 7}}, tx + 1000},
		{"relative on realtime", [][]byte{subscription(1, 0, 0, 500, 0)},
			false, []event{{userdata: 1}}, tx + 1500},
		{"latest of several clocks", [][]byte{subscription(1, 0, 1, 10, 0), subscription(2, 0, 3, 90, 0), subscription(3, 0, 2, 40, 0)},
			false, []event{{userdata: 1}, {userdata: 2}, {userdata: 3}}, tx + 1090},
		{"absolute monotonic", [][]byte{subscription(9, 0, 1, tx+7_000_000, 1)},
			false, []event{{userdata: 9}}, tx + 7_000_000},
		{"absolute in the past", [][]byte{subscription(9, 0, 1, tx-5, 1)},
			false, []event{{userdata: 9}}, tx + 1000},
		{"absolute realtime", [][]byte{subscription(9, 0, 0, tx+7_000_000, 1)},
			false, []event{{userdata: 9}}, tx + 1000},
		{"bad clock id", [][]byte{subscription(4, 0, 4, 1_000_000, 0)},
			false, []event{{userdata: 4, errno: uint16(errnoInval)}}, tx + 1000},
		{"bad flags", [][]byte{subscription(4, 0, 1, 1_000_000, 2)},
			false, []event{{userdata: 4, errno: uint16(errnoInval)}}, tx + 1000},
		{"fd subscriptions", [][]byte{subscription(5, 1, 0, 0, 0), subscription(6, 2, 1, 0, 0), subscription(8, 0, 1, 20, 0)},
			false, []event{{userdata: 5, errno: uint16(errnoBadf), typ: 1}, {userdata: 6, errno: uint16(errnoBadf), typ: 2}, {userdata: 8}}, tx + 1020},
		{"events over subscriptions", [][]byte{subscription(11, 2, 1, 0, 0), subscription(12, 0, 1, 30, 0)},
			true, []event{{userdata: 11, errno: uint16(errnoBadf), typ: 2}, {userdata: 12}}, tx + 1030},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuest(t, "guest.wasm")
			var c charges
			s := NewState(c.env(Env{TimeNanos: txTime}))
			g.fill(0xAA)
			if e := g.errno(s, "clock_time_get", 1, 0, 8); e != 0 || g.u64(8) != tx {
				t.Fatalf("first monotonic read: errno %d, %d", e, g.u64(8))
			}
			in, out := uint32(1024), uint32(4096)
			if tc.overlap {
				out = in
			}
			g.write(in, bytes.Join(tc.subs, nil))
			c.units = nil
			n := uint64(len(tc.subs))
			if e := g.errno(s, "poll_oneoff", uint64(in), uint64(out), n, 16); e != 0 {
				t.Fatalf("poll_oneoff: errno %d", e)
			}
			if want := []uint64{gasBase + 80*n + 4}; !slices.Equal(c.units, want) {
				t.Errorf("charged %v, want %v", c.units, want)
			}
			if nev := g.u32(16); nev != uint32(n) {
				t.Errorf("nevents = %d, want %d", nev, n)
			}
			for i, want := range tc.want {
				raw := g.read(out+uint32(32*i), 32)
				got := event{
					userdata: binary.LittleEndian.Uint64(raw[0:]),
					errno:    binary.LittleEndian.Uint16(raw[8:]),
					typ:      raw[10],
					nbytes:   binary.LittleEndian.Uint64(raw[16:]),
					flags:    binary.LittleEndian.Uint16(raw[24:]),
				}
				if got != want {
					t.Errorf("event %d = %+v, want %+v", i, got, want)
				}
				if pad := raw[11:16]; !bytes.Equal(pad, make([]byte, 5)) {
					t.Errorf("event %d padding = %x, want zeros", i, pad)
				}
			}
			if e := g.errno(s, "clock_time_get", 1, 0, 8); e != 0 || g.u64(8) != tc.mono {
				t.Errorf("monotonic after poll = %d (errno %d), want %d", g.u64(8), e, tc.mono)
			}
		})
	}

	t.Run("unknown tag writes nothing", func(t *testing.T) {
		g := newGuest(t, "guest.wasm")
		s := NewState(Env{TimeNanos: txTime})
		g.fill(0xAA)
		g.write(1024, append(subscription(1, 0, 1, 1_000_000, 0), subscription(2, 3, 0, 0, 0)...))
		if e := g.errno(s, "poll_oneoff", 1024, 4096, 2, 16); e != errnoInval {
			t.Errorf("errno %d, want %d", e, errnoInval)
		}
		if got := g.read(4096, 64); !bytes.Equal(got, bytes.Repeat([]byte{0xAA}, 64)) || g.u32(16) != 0xAAAAAAAA {
			t.Error("a failed poll_oneoff wrote events")
		}
		if e := g.errno(s, "clock_time_get", 1, 0, 8); e != 0 || g.u64(8) != uint64(txTime) {
			t.Errorf("a failed poll_oneoff moved the clock to %d", g.u64(8))
		}
	})
}

func TestProcExit(t *testing.T) {
	g := newGuest(t, "guest.wasm")
	for _, code := range []uint32{0, 3, 0xFFFF_FFFF} {
		var c charges
		s := NewState(c.env(Env{}))
		_, err := g.call(s, "proc_exit", uint64(code))
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != code {
			t.Fatalf("proc_exit(%d) returned %v, want an *ExitError with code %d", code, err, code)
		}
		if !slices.Equal(c.units, []uint64{gasBase}) {
			t.Errorf("proc_exit charged %v, want [%d]", c.units, gasBase)
		}
		// The instance stays usable.
		if e := g.errno(s, "sched_yield"); e != 0 {
			t.Fatalf("sched_yield after proc_exit: errno %d", e)
		}
	}
	if got := (&ExitError{Code: 2}).Error(); got != "wasi: proc_exit(2)" {
		t.Errorf("Error() = %q", got)
	}
}

// TestChargePanicAborts checks that a panic in Charge (the host's out-of-gas)
// ends the guest call before the host function has any effect.
func TestChargePanicAborts(t *testing.T) {
	errOutOfGas := errors.New("out of gas")
	g := newGuest(t, "guest.wasm")
	s := NewState(Env{
		TimeNanos:   txTime,
		TxID:        "tx",
		MaxLogBytes: 100,
		Charge:      func(api.Module, uint64) { panic(errOutOfGas) },
	})
	g.fill(0xAA)
	g.write(1024, []byte("abc"))
	g.write(0, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1024), 3))
	g.write(2048, subscription(1, 0, 1, 1_000_000, 0))
	before := g.read(0, pageSize)
	calls := []struct {
		fn     string
		params []uint64
	}{
		{"fd_write", []uint64{1, 0, 1, 512}},
		{"random_get", []uint64{600, 32}},
		{"clock_time_get", []uint64{1, 0, 700}},
		{"poll_oneoff", []uint64{2048, 4096, 1, 800}},
		{"fd_write", []uint64{9, 0, 1, 512}}, // EBADF still charges
		{"proc_exit", []uint64{0}},
	}
	for _, c := range calls {
		_, err := g.call(s, c.fn, c.params...)
		if !errors.Is(err, errOutOfGas) {
			t.Errorf("%s: error %v, want the Charge panic", c.fn, err)
		}
	}
	if !bytes.Equal(g.read(0, pageSize), before) {
		t.Error("aborted calls changed guest memory")
	}
	if len(s.Log()) != 0 {
		t.Errorf("aborted fd_write logged %q", s.Log())
	}
	// Neither the clock nor the random stream moved.
	want := NewState(Env{TimeNanos: txTime, TxID: "tx"})
	if s.readMonotonic() != want.readMonotonic() {
		t.Error("aborted calls moved the monotonic clock")
	}
	a, b := make([]byte, 8), make([]byte, 8)
	s.fillRandom(a)
	want.fillRandom(b)
	if !bytes.Equal(a, b) {
		t.Error("aborted random_get consumed the random stream")
	}
}

func TestNoState(t *testing.T) {
	g := newGuest(t, "guest.wasm")
	for _, id := range []uint64{0, 1, 1} {
		if e := g.errno(nil, "clock_time_get", id, 0, 8); e != 0 || g.u64(8) != 0 {
			t.Errorf("clock %d without State: errno %d, time %d; want 0, 0", id, e, g.u64(8))
		}
	}
	g.write(1024, []byte("abc"))
	g.write(0, binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1024), 3))
	if e := g.errno(nil, "fd_write", 1, 0, 1, 512); e != 0 || g.u32(512) != 3 {
		t.Errorf("fd_write without State: errno %d, nwritten %d", e, g.u32(512))
	}
	if e := g.errno(nil, "random_get", 64, 32); e != 0 || !bytes.Equal(g.read(64, 32), sha256Stream("", 32)) {
		t.Errorf("random_get without State: errno %d", e)
	}
}

func TestNoMemory(t *testing.T) {
	g := newGuest(t, "nomem.wasm")
	var c charges
	s := NewState(c.env(Env{}))
	if e := g.errno(s, "clock_time_get", 0, 0, 0); e != errnoFault {
		t.Errorf("clock_time_get without memory: errno %d, want %d", e, errnoFault)
	}
	if e := g.errno(s, "fd_write", 1, 0, 0, 0); e != errnoFault {
		t.Errorf("fd_write without memory: errno %d, want %d", e, errnoFault)
	}
	if !slices.Equal(c.units, []uint64{gasBase, gasBase}) {
		t.Errorf("charged %v", c.units)
	}
}

// TestRandomGasPerByte: random_get charges GasPerRandomByte per byte (hashing
// costs more than moving bytes), one per byte when it is unset, and saturates
// instead of wrapping.
func TestRandomGasPerByte(t *testing.T) {
	tests := []struct {
		perByte, n uint64
		want       uint64
	}{
		{0, 100, gasBase + 100},
		{1, 100, gasBase + 100},
		{16, 100, gasBase + 1600},
		{16, 0, gasBase},
	}
	for _, tc := range tests {
		g := newGuest(t, "guest.wasm")
		var c charges
		s := NewState(c.env(Env{GasPerRandomByte: tc.perByte, TxID: "t"}))
		if e := g.errno(s, "random_get", 64, tc.n); e != 0 {
			t.Fatalf("random_get: errno %d", e)
		}
		if !slices.Equal(c.units, []uint64{tc.want}) {
			t.Errorf("per byte %d, %d bytes: charged %v, want [%d]", tc.perByte, tc.n, c.units, tc.want)
		}
	}
	if got := NewState(Env{GasPerRandomByte: 1 << 40}).randomGas(1 << 30); got != math.MaxUint64 {
		t.Errorf("randomGas overflow = %d, want saturation", got)
	}
}
