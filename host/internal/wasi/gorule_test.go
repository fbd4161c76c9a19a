package wasi

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// buildGoRule builds testdata/gorule with stock Go as a WASI reactor.
func buildGoRule(t *testing.T) []byte {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out := filepath.Join(t.TempDir(), "rule.wasm")
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "gorule")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/gorule: %v\n%s", err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestStockGoRule runs a rule built by stock Go (GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared) against this host module, the way the host runs
// rules: _initialize in the environment of init (time 0, empty TxID), then an
// exported function in the environment of a transaction.
func TestStockGoRule(t *testing.T) {
	bin := buildGoRule(t)
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	if _, err := Instantiate(ctx, r); err != nil {
		t.Fatal(err)
	}
	compiled, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}

	// Everything stock Go imports is served, with the same signature.
	for _, imp := range compiled.ImportedFunctions() {
		module, name, _ := imp.Import()
		sig, ok := Functions[name]
		if module != ModuleName || !ok {
			t.Errorf("stock Go imports %s.%s, which is not served", module, name)
			continue
		}
		if !slices.Equal(sig.Params, imp.ParamTypes()) || !slices.Equal(sig.Results, imp.ResultTypes()) {
			t.Errorf("stock Go imports %s as %v -> %v, served as %v -> %v",
				name, imp.ParamTypes(), imp.ResultTypes(), sig.Params, sig.Results)
		}
	}

	type result struct {
		ret   int64
		log   string
		trunc bool
		gas   uint64
	}
	run := func(txID string) result {
		t.Helper()
		mod, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
		if err != nil {
			t.Fatalf("instantiate: %v", err)
		}
		defer mod.Close(ctx)
		initState := NewState(Env{MaxLogBytes: 1 << 10})
		if _, err := mod.ExportedFunction("_initialize").Call(WithState(ctx, initState)); err != nil {
			t.Fatalf("_initialize: %v (log %q)", err, initState.Log())
		}
		var gas uint64
		s := NewState(Env{
			TimeNanos:      txTime,
			TxID:           txID,
			MaxLogBytes:    4096,
			GasPerHostCall: gasBase,
			Charge:         func(_ api.Module, units uint64) { gas += units },
		})
		res, err := mod.ExportedFunction("run").Call(WithState(ctx, s))
		if err != nil {
			t.Fatalf("run: %v (log %q)", err, s.Log())
		}
		return result{int64(res[0]), string(s.Log()), s.LogTruncated(), gas}
	}

	a := run("tx-a")
	t.Logf("log of run: %q, gas charged by host calls: %d", a.log, a.gas)
	if a.ret != txTime {
		t.Errorf("time.Now().UnixNano() = %d, want the transaction time %d", a.ret, txTime)
	}
	wantOut := "unix " + strconv.FormatInt(txTime/1e9, 10) +
		" crypto " + hex.EncodeToString(sha256Stream("tx-a", 40)) + " math "
	if !strings.HasPrefix(a.log, wantOut) {
		t.Errorf("log = %q, want it to start %q", a.log, wantOut)
	}
	if !strings.Contains(a.log, "\nslept true ") {
		t.Errorf("log = %q, want time.Sleep(time.Millisecond) to have seen 1ms pass", a.log)
	}
	if a.trunc || a.gas == 0 {
		t.Errorf("truncated %v, gas %d; want false and some gas", a.trunc, a.gas)
	}

	if b := run("tx-a"); b != a {
		t.Errorf("two runs of the same transaction differ:\n%+v\n%+v", a, b)
	}
	c := run("tx-b")
	if c.ret != a.ret || c.log == a.log {
		t.Errorf("another TxID: time %d (want %d) and log %q (want it to differ from %q)", c.ret, a.ret, c.log, a.log)
	}
}
