package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

// gasTimeBill bills input on testdata/bench/gastime.wasm in both engines,
// checks they agree, and returns the result and error.
func gasTimeBill(t *testing.T, mods []*host.Module, input string, limit uint64) (*host.Result, error) {
	t.Helper()
	var first *host.Result
	var firstErr error
	for i, m := range mods {
		res, err := m.Bill(context.Background(), host.Call{Input: []byte(input), GasLimit: limit, TxTime: txTime, TxID: fabricTxID})
		if i == 0 {
			first, firstErr = res, err
			continue
		}
		if res.GasUsed != first.GasUsed || (err == nil) != (firstErr == nil) {
			t.Fatalf("%s: engines disagree: gas %d err %v, then gas %d err %v", input, first.GasUsed, firstErr, res.GasUsed, err)
		}
	}
	return first, firstErr
}

func gasTimeModules(t *testing.T) []*host.Module {
	p := prepare(t, gasTimeModule(t))
	var mods []*host.Module
	for _, k := range engines {
		mods = append(mods, load(t, newHost(t, host.Config{Engine: k}), p))
	}
	return mods
}

// loopFrame is what one round of a gastime.wat loop costs besides its body:
// i += 1 (4 instructions), i != k (3) and br_if (1).
const loopFrame = 8

// TestOpGas pins what one bulk memory op or host call costs, from the gas of
// K and K+1 rounds of its loop in testdata/bench/gastime.wat: the loop's frame,
// the body's instructions (a call is 2) and the op's own charge, which must
// be the formula ABI.md gives under ProfileV1.
func TestOpGas(t *testing.T) {
	p := host.ProfileV1()
	mods := gasTimeModules(t)
	tests := []struct {
		name   string
		input  string
		instrs uint64 // the body's instruction gas
		charge uint64 // what the op adds
	}{
		{"memory.fill 0 B", "d0", 4, p.GasPerMemOp},
		{"memory.fill 4 KiB", "d4096", 4, p.GasPerMemOp + 4096/p.BytesPerGas},
		{"memory.fill 1 MiB + 7 B", "d1048583", 4, p.GasPerMemOp + 1048583/p.BytesPerGas},
		{"memory.copy 0 B", "c0", 6, p.GasPerMemOp},
		{"memory.copy 4 KiB", "c4096", 6, p.GasPerMemOp + 4096/p.BytesPerGas},
		{"memory.grow 1 page", "e1", 5, p.GasPerMemOp + p.GasPerPage},
		{"memory.grow 64 pages", "e64", 5, p.GasPerMemOp + 64*p.GasPerPage},
		{"memory.grow refused", "f", 5, p.GasPerMemOp},
		{"random_get 32 B", "g32", 5, p.GasPerHostCall + 32*p.GasPerRandomByte},
		{"random_get 0 B", "g0", 5, p.GasPerHostCall},
		{"fd_write 64 B", "h64", 7, p.GasPerHostCall + 16 + 64 + 4},
		{"fd_write 3 empty iovecs", "i3", 7, p.GasPerHostCall + 3*16 + 4},
		{"clock_time_get", "j", 6, p.GasPerHostCall + 8},
		{"poll_oneoff 2 subscriptions", "q2", 11, p.GasPerHostCall + 2*80 + 4},
		{"sched_yield", "p", 3, p.GasPerHostCall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var gas [2]uint64
			for i, k := range []int{2, 3} {
				res, err := gasTimeBill(t, mods, fmt.Sprintf("%s*%d", tc.input, k), host.DefaultGasLimit)
				if err != nil {
					t.Fatalf("%d rounds: %v", k, err)
				}
				gas[i] = res.GasUsed
			}
			if got, want := gas[1]-gas[0], loopFrame+tc.instrs+tc.charge; got != want {
				t.Errorf("one round costs %d gas, want %d (frame %d + body %d + op %d)", got, want, loopFrame, tc.instrs, tc.charge)
			}
		})
	}
}

// TestBulkLoopRunsOutOfGas: under a gas limit, a fill or copy loop completes
// exactly as many rounds as the limit pays for, and the next round runs out of
// gas with gas used equal to the limit, as does the loop left unbounded.
func TestBulkLoopRunsOutOfGas(t *testing.T) {
	mods := gasTimeModules(t)
	for _, op := range []string{"d4096", "c4096", "d65536", "c100000"} {
		t.Run(op, func(t *testing.T) {
			// Counts with as many digits as 25 and 26: parsing the
			// input costs gas per digit.
			ten, err := gasTimeBill(t, mods, op+"*10", host.DefaultGasLimit)
			if err != nil {
				t.Fatal(err)
			}
			eleven, err := gasTimeBill(t, mods, op+"*11", host.DefaultGasLimit)
			if err != nil {
				t.Fatal(err)
			}
			round := eleven.GasUsed - ten.GasUsed
			fixed := ten.GasUsed - 10*round
			const rounds = 25
			limit := fixed + rounds*round + round/2 // pays for 25 rounds and half of one more
			res, err := gasTimeBill(t, mods, fmt.Sprintf("%s*%d", op, rounds), limit)
			if err != nil || res.GasUsed != fixed+rounds*round {
				t.Errorf("%d rounds under %d: gas %d, err %v; want gas %d", rounds, limit, res.GasUsed, err, fixed+rounds*round)
			}
			for _, in := range []string{fmt.Sprintf("%s*%d", op, rounds+1), op} {
				res, err := gasTimeBill(t, mods, in, limit)
				if !errors.Is(err, host.ErrOutOfGas) || res.GasUsed != limit {
					t.Errorf("%s under %d: gas %d, err %v; want ErrOutOfGas at the limit", in, limit, res.GasUsed, err)
				}
			}
		})
	}
}

// TestRestoreGas: every call pays for restoring the snapshot before the rule
// runs, by its 4 KiB pages of data and of zeros. snapshot_init_fill.wasm is
// ok_fixed.wasm with an _initialize that fills its 256 pages from 64 KiB on, so
// the two differ by 4080 pages of data that were zeros.
func TestRestoreGas(t *testing.T) {
	p := host.ProfileV1()
	bill := func(file string, limit uint64) (*host.Result, error) {
		m := load(t, newHost(t, host.Config{}), prepare(t, fixture(t, file)))
		return m.Bill(context.Background(), host.Call{Input: []byte(corpusInput), GasLimit: limit})
	}
	small, err := bill("ok_fixed.wasm", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := 32 + p.GasPerRestorePage + 15*p.GasPerRestoreZeroPage; small.GasUsed != want {
		t.Errorf("ok_fixed: gas %d, want %d (32 for the rule, 1 page copied, 15 cleared)", small.GasUsed, want)
	}
	big, err := bill("snapshot_init_fill.wasm", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := small.GasUsed + 4080*p.GasPerRestorePage; big.GasUsed != want {
		t.Errorf("snapshot_init_fill: gas %d, want %d", big.GasUsed, want)
	}
	res, err := bill("snapshot_init_fill.wasm", 1000)
	if !errors.Is(err, host.ErrOutOfGas) || res.GasUsed != 1000 {
		t.Errorf("restore over the limit: gas %d, err %v; want ErrOutOfGas at the limit", res.GasUsed, err)
	}
}

// TestSnapshotLimit: a module whose init leaves more memory than
// Profile.MaxSnapshotPages fails to load with ErrMemoryLimit.
func TestSnapshotLimit(t *testing.T) {
	tests := []struct {
		file  string
		pages uint32
		want  error
	}{
		{"snapshot_init_fill.wasm", 256, nil},
		{"snapshot_init_fill.wasm", 255, host.ErrMemoryLimit},
		{"ok_fixed.wasm", 1, nil},
		{"ok_fixed.wasm", 0, host.ErrMemoryLimit},
		{"snapshot_too_large.wasm", 257, nil},
	}
	for _, tc := range tests {
		prof := host.ProfileV1()
		prof.MaxSnapshotPages = tc.pages
		h := newHost(t, host.Config{Profile: &prof})
		_, err := h.Load(context.Background(), prepare(t, fixture(t, tc.file)))
		if !errors.Is(err, tc.want) || (err != nil) != (tc.want != nil) {
			t.Errorf("%s under a %d-page limit: err %v, want %v", tc.file, tc.pages, err, tc.want)
		}
	}
}

// TestHostMemoryBound: the cache evicts by bytes as well as by count. Each
// of these modules has a one-page snapshot, so its footprint is a few hundred
// KiB: a 1-byte bound keeps only the last module loaded.
func TestHostMemoryBound(t *testing.T) {
	tests := []struct {
		maxBytes    int64
		wantEvicted bool
	}{
		{1, true},
		{0, false}, // DefaultMaxMemoryBytes
		{64 << 20, false},
	}
	for _, tc := range tests {
		h := newHost(t, host.Config{MaxMemoryBytes: tc.maxBytes})
		a := load(t, h, prepare(t, fixture(t, "ok_fixed.wasm")))
		load(t, h, prepare(t, fixture(t, "ok_stateful.wasm")))
		_, err := a.Bill(context.Background(), host.Call{Input: []byte(corpusInput)})
		if evicted := errors.Is(err, host.ErrEvicted); evicted != tc.wantEvicted || (!evicted && err != nil) {
			t.Errorf("MaxMemoryBytes %d: first module's Bill: %v, want evicted %v", tc.maxBytes, err, tc.wantEvicted)
		}
	}
}

// TestCallsInFlightBound: with one call in flight allowed, concurrent calls
// run one at a time, so one instance serves them all.
func TestCallsInFlightBound(t *testing.T) {
	h := newHost(t, host.Config{MaxCallsInFlight: 1})
	m := load(t, h, prepare(t, fixture(t, "ok_fixed.wasm")))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				if _, err := m.Bill(context.Background(), host.Call{Input: []byte(corpusInput)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := host.InstancesMade(m); n != 1 {
		t.Errorf("%d instances made, want 1", n)
	}
}

// TestProfileCostsMatchDocs: the cost table in ABI.md states ProfileV1's
// prices and limits and DefaultGasLimit exactly, and names every one.
func TestProfileCostsMatchDocs(t *testing.T) {
	raw, err := os.ReadFile("ABI.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(?:Profile\\.)?(\\w+)` \\| ([0-9,]+) \\|")
	documented := map[string]uint64{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		v, err := strconv.ParseUint(strings.ReplaceAll(m[2], ",", ""), 10, 64)
		if err != nil {
			t.Fatalf("ABI.md row %s: %v", m[1], err)
		}
		documented[m[1]] = v
	}
	want := map[string]uint64{"DefaultGasLimit": host.DefaultGasLimit}
	pv := reflect.ValueOf(host.ProfileV1())
	for i := 0; i < pv.NumField(); i++ {
		f := pv.Type().Field(i)
		if strings.Contains(f.Name, "Gas") || f.Name == "MaxSnapshotPages" || f.Name == "MaxMemoryPages" {
			want[f.Name] = pv.Field(i).Convert(reflect.TypeOf(uint64(0))).Uint()
		}
	}
	for name, v := range want {
		got, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("ABI.md's cost table has no row for %s (%d)", name, v)
		case got != v:
			t.Errorf("ABI.md says %s is %d; ProfileV1() has %d", name, got, v)
		}
	}
}
