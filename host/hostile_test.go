package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/host"
)

// expectation is one row of testdata/hostile/expect.json.
type expectation struct {
	File     string `json:"file"`
	Phase    string `json:"phase"` // prepare, init or call
	Err      string `json:"err"`   // a sentinel's name, or OK
	Reason   string `json:"reason"`
	Output   string `json:"output"`
	GasLimit uint64 `json:"gas_limit"`
}

var sentinels = map[string]error{
	"ErrInvalidModule": host.ErrInvalidModule,
	"ErrOutOfGas":      host.ErrOutOfGas,
	"ErrTrap":          host.ErrTrap,
	"ErrMemoryLimit":   host.ErrMemoryLimit,
	"ErrStackLimit":    host.ErrStackLimit,
	"ErrBadOutput":     host.ErrBadOutput,
	"ErrRule":          host.ErrRule,
	"OK":               nil,
}

const corpusInput = `{"abi":1,"currency":"CNY","scale":2,"iterations":1000,"tx":{"id":"t","time":1}}`

// TestHostileCorpus runs every module of the corpus in both engines. Each must
// end in its expected typed error (or succeed), and the two engines must agree
// on the error, the output and the gas to the unit.
func TestHostileCorpus(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "hostile", "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []expectation
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.wasm"))
	if len(rows) < len(files) {
		t.Errorf("expect.json has %d rows for %d modules: every module needs an expectation", len(rows), len(files))
	}
	for _, row := range rows {
		t.Run(strings.TrimSuffix(row.File, ".wasm"), func(t *testing.T) {
			want, ok := sentinels[row.Err]
			if !ok {
				t.Fatalf("unknown expected error %q", row.Err)
			}
			code := fixture(t, row.File)
			p, err := host.Prepare(code)
			if row.Phase == "prepare" {
				if !errors.Is(err, want) {
					t.Fatalf("Prepare: err = %v, want %s", err, row.Err)
				}
				if !containsFold(err.Error(), row.Reason) {
					t.Fatalf("Prepare: error %q does not name %q", err, row.Reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			var got []outcome
			for _, k := range engines {
				got = append(got, runRow(t, k, p, row, want))
			}
			sameOutcome(t, "compiler vs interpreter", got[0], got[1])
			if row.Output != "" && got[0].out != row.Output {
				t.Errorf("output = %s\nwant     %s", got[0].out, row.Output)
			}
		})
	}
}

func runRow(t *testing.T, k host.EngineKind, p *host.Prepared, row expectation, want error) outcome {
	prof := host.ProfileV1()
	if row.Phase == "init" && row.GasLimit != 0 {
		prof.InitGas = row.GasLimit
	}
	h := newHost(t, host.Config{Engine: k, Profile: &prof})
	m, err := h.Load(context.Background(), p)
	if row.Phase == "init" {
		if !errors.Is(err, want) || want == nil {
			t.Fatalf("%v: Load: err = %v, want %s", k, err, row.Err)
		}
		if !containsFold(err.Error(), row.Reason) {
			t.Fatalf("%v: Load: error %q does not name %q", k, err, row.Reason)
		}
		return outcome{err: err.Error()}
	}
	if err != nil {
		t.Fatalf("%v: Load: %v", k, err)
	}
	res, err := m.Bill(context.Background(), host.Call{Input: []byte(corpusInput), GasLimit: row.GasLimit, TxTime: txTime, TxID: "corpus"})
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%v: Bill: err = %v, want %s", k, err, row.Err)
	}
	o := outcome{}
	if err != nil {
		o.err = err.Error()
		if !containsFold(o.err, row.Reason) {
			t.Fatalf("%v: Bill: error %q does not name %q", k, err, row.Reason)
		}
	}
	if res != nil {
		o.out, o.gas, o.log = string(res.Output), res.GasUsed, string(res.Log)
		if errors.Is(err, host.ErrOutOfGas) && res.GasUsed != row.GasLimit {
			t.Errorf("%v: out of gas with gas used %d, want the limit %d", k, res.GasUsed, row.GasLimit)
		}
	}
	return o
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
