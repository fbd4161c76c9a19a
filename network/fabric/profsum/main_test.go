package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		frames []string // leaf first
		want   string
	}{
		{"signature check inside validation",
			[]string{"crypto/internal/fips140/ecdsa.Verify", "crypto/ecdsa.VerifyASN1", "github.com/hyperledger/fabric/core/committer/txvalidator/v20.(*TxValidator).validateTx"},
			"signatures (ECDSA sign/verify)"},
		{"validation's ledger read",
			[]string{"github.com/syndtr/goleveldb/leveldb/memdb.(*DB).findGE", "github.com/syndtr/goleveldb/leveldb.(*DB).get", "github.com/syndtr/goleveldb/leveldb.(*DB).Get", "github.com/hyperledger/fabric/core/ledger/kvledger/txmgmt/validation.(*validator).validateKVRead"},
			"LevelDB reads"},
		{"compaction, though it also writes",
			[]string{"github.com/syndtr/goleveldb/leveldb.(*DB).writeLocked", "github.com/syndtr/goleveldb/leveldb.(*DB).tCompaction"},
			"LevelDB compaction"},
		{"restore before run",
			[]string{"runtime.memmove", "github.com/fedmeter/fedmeter/host.(*Module).restore", "github.com/fedmeter/fedmeter/host.(*Module).Bill"},
			"Wasm rule: memory restore"},
		{"a rule's Go side", []string{"github.com/tetratelabs/wazero/internal/engine/wazevo.(*callEngine).Call"}, "Wasm rule: run"},
		{"compiled Wasm", []string{"runtime._ExternalCode", "runtime._System"}, "outside Go (compiled Wasm)"},
		{"JSON in the contract", []string{"encoding/json.Unmarshal", "github.com/fedmeter/fedmeter/chaincode.(*txn).getJSON"}, "JSON"},
		{"allocation, not a named part", []string{"runtime.mallocgc", "github.com/hyperledger/fabric/gossip/state.(*GossipStateProviderImpl).commitBlock"}, "memory allocation"},
		{"endorsement under gRPC's server frames",
			[]string{"github.com/hyperledger/fabric/core/endorser.(*Endorser).ProcessProposal", "google.golang.org/grpc.(*Server).processUnaryRPC", "google.golang.org/grpc.(*Server).handleStream"},
			"peer: endorsement and gateway"},
		{"gRPC sending a message",
			[]string{"google.golang.org/grpc/internal/transport.(*http2Client).Write", "google.golang.org/grpc.(*csAttempt).sendMsg", "github.com/hyperledger/fabric/core/endorser.(*Endorser).ProcessProposal"},
			"gRPC transport and messages"},
		{"nothing recognised", []string{"runtime.futex", "runtime.schedule"}, other},
		{"no frames", nil, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.frames); got != tt.want {
				t.Errorf("classify(%q) = %q, want %q", tt.frames, got, tt.want)
			}
		})
	}
}

// sample is a stack (leaf first) and the CPU time it took.
type sample struct {
	stack []string
	ms    int64
}

// writeProfile writes a CPU profile of the samples, as Go's profiler would.
func writeProfile(t *testing.T, file string, samples []sample) {
	t.Helper()
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	funcs := map[string]*profile.Function{}
	for _, s := range samples {
		var locs []*profile.Location
		for _, name := range s.stack {
			fn := funcs[name]
			if fn == nil {
				fn = &profile.Function{ID: uint64(len(funcs) + 1), Name: name}
				funcs[name] = fn
				p.Function = append(p.Function, fn)
			}
			loc := &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn}}}
			p.Location = append(p.Location, loc)
			locs = append(locs, loc)
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: locs, Value: []int64{s.ms / 10, s.ms * 1_000_000}})
	}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

var (
	sig     = []string{"crypto/ecdsa.Verify"}
	read    = []string{"github.com/syndtr/goleveldb/leveldb.(*DB).Get"}
	restore = []string{"github.com/fedmeter/fedmeter/host.(*Module).restore"}
)

// testRun writes a run of two steps, put/1 (100 tx) and release/1 (50 tx),
// with their profiles, and returns the JSON's path.
func testRun(t *testing.T) string {
	dir := t.TempDir()
	put := filepath.Join(dir, "01-put-inflight=32")
	rel := filepath.Join(dir, "02-release-inflight=32")
	for _, d := range []string{put, rel} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// put: 1000 ms of signatures on a peer, 200 ms of reads on another,
	// 100 ms on an orderer: 10, 2 and 1 ms per tx.
	writeProfile(t, filepath.Join(put, "peer0.org1.pprof"), []sample{{sig, 600}, {sig, 400}})
	writeProfile(t, filepath.Join(put, "peer1.org2.pprof"), []sample{{read, 200}})
	writeProfile(t, filepath.Join(put, "orderer1.pprof"), []sample{{[]string{"runtime.futex"}, 100}})
	// release: 500 ms of signatures (10 ms per tx), 250 ms of reads (5),
	// 100 ms of restore in a chaincode service (2).
	writeProfile(t, filepath.Join(rel, "peer0.org1.pprof"), []sample{{sig, 500}, {read, 250}})
	writeProfile(t, filepath.Join(rel, "cc-fedmeter-org1.pprof"), []sample{{restore, 100}})
	run := map[string]any{"steps": []map[string]any{
		{"workload": "put", "load": "inflight=32", "round": 1, "tx": 100, "node_profiles": put},
		{"workload": "release", "load": "inflight=32", "round": 1, "tx": 50, "node_profiles": rel},
		{"workload": "get", "load": "inflight=32", "round": 1, "tx": 900}, // no profiles: left out
	}}
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "run.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// checkRows checks, for each row label, the whitespace-separated fields
// that follow it on its line of out.
func checkRows(t *testing.T, out string, want map[string][]string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for label, fields := range want {
		var got []string
		found := false
		for _, line := range lines {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
				got, found = strings.Fields(rest), true
				break
			}
		}
		if !found {
			t.Errorf("no line %q in:\n%s", label, out)
		} else if strings.Join(got, " ") != strings.Join(fields, " ") {
			t.Errorf("%s: got %q, want %q\n%s", label, got, fields, out)
		}
	}
}

func TestRunDiff(t *testing.T) {
	file := testRun(t)
	var out strings.Builder
	if err := run([]string{"-diff", "put/1,release/1", file}, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	checkRows(t, got, map[string][]string{
		"LevelDB reads":                  {"2.000", "5.000", "+3.000"},
		"Wasm rule: memory restore":      {"0.000", "2.000", "+2.000"},
		"signatures (ECDSA sign/verify)": {"10.000", "10.000", "+0.000"},
		"other":                          {"1.000", "0.000", "-1.000"},
		"total":                          {"13.000", "17.000", "+4.000"},
	})
	// Largest growth first.
	if i, j := strings.Index(got, "LevelDB reads"), strings.Index(got, "Wasm rule: memory restore"); i > j {
		t.Errorf("reads (+3) should come before restore (+2):\n%s", got)
	}
}

func TestRunStep(t *testing.T) {
	file := testRun(t)
	var out strings.Builder
	// The folder name designates the step too.
	if err := run([]string{"-step", "02-release-inflight=32", file}, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	// Columns: peers, orderers, chaincode, other nodes, all.
	checkRows(t, got, map[string][]string{
		"LevelDB reads":             {"5.000", "0.000", "0.000", "0.000", "5.000"},
		"Wasm rule: memory restore": {"0.000", "0.000", "2.000", "0.000", "2.000"},
		"total":                     {"15.000", "0.000", "2.000", "0.000", "17.000"},
	})
	if strings.Contains(got, "put/1") {
		t.Errorf("-step printed another step:\n%s", got)
	}

	out.Reset()
	if err := run([]string{file}, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "CPU ms per transaction"); n != 2 {
		t.Errorf("every step with profiles: got %d tables, want 2:\n%s", n, out.String())
	}
}

func TestRunErrors(t *testing.T) {
	file := testRun(t)
	noProfiles := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(noProfiles, []byte(`{"steps":[{"workload":"put","round":1,"tx":5}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(notJSON, []byte("put inflight=32 128 tx/s"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-diff", "put/1,usage/1", file}, `no step "usage/1"; the run has put/1/inflight=32, release/1/inflight=32`},
		{[]string{"-diff", "put/1", file}, "give two steps"},
		{[]string{"-diff", "put/1,release/1", "-step", "put/1", file}, "-step and -diff"},
		{[]string{noProfiles}, "no step of the run has node profiles"},
		{[]string{notJSON}, "not the JSON of `fmbench -o json`"},
		{[]string{}, "give one run"},
	}
	for _, tt := range tests {
		var out strings.Builder
		err := run(tt.args, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}

func TestFindAmbiguous(t *testing.T) {
	steps := []step{
		{Workload: "usage", Round: 1, Load: "inflight=32", Profiles: "/p/12-usage-inflight=32"},
		{Workload: "usage", Round: 1, Load: "inflight=128", Profiles: "/p/14-usage-inflight=128"},
	}
	if _, err := find(steps, "usage/1"); err == nil || !strings.Contains(err.Error(), "ambiguous: name one of 12-usage-inflight=32, 14-usage-inflight=128") {
		t.Errorf("usage/1 with two loads: got %v, want an ambiguity error naming the folders", err)
	}
	s, err := find(steps, "usage/1/inflight=128")
	if err != nil || s.Load != "inflight=128" {
		t.Errorf("usage/1/inflight=128: got %+v, %v", s, err)
	}
}

func TestNotACPUProfile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "peer0.org1.pprof")
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}}}
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := profileUsage(usage{}, file, 1); err == nil || !strings.Contains(err.Error(), "not a CPU profile") {
		t.Errorf("a heap profile: got %v, want a refusal", err)
	}
}
