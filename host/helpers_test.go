package host_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/rules/build"
)

var tmpDir string

func TestMain(m *testing.M) {
	var err error
	tmpDir, err = os.MkdirTemp("", "fedmeter-host-test-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(tmpDir)
	os.Exit(code)
}

var goRules sync.Map // dir -> *builtRule

type builtRule struct {
	once sync.Once
	code []byte
	err  error
}

// goRule builds a stock-Go rule once per test binary: testdata/<dir>, or dir
// itself if it is a path.
func goRule(tb testing.TB, dir string) []byte {
	tb.Helper()
	v, _ := goRules.LoadOrStore(dir, &builtRule{})
	br := v.(*builtRule)
	br.once.Do(func() {
		src := dir
		if !strings.ContainsRune(dir, filepath.Separator) {
			src = filepath.Join("testdata", dir)
		}
		abs, err := filepath.Abs(src)
		if err != nil {
			br.err = err
			return
		}
		out := filepath.Join(tmpDir, filepath.Base(abs)+".wasm")
		if _, br.err = build.Rule(context.Background(), abs, out); br.err == nil {
			br.code, br.err = os.ReadFile(out)
		}
	})
	if br.err != nil {
		tb.Fatalf("build %s: %v", dir, br.err)
	}
	return br.code
}

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hostile", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func prepare(tb testing.TB, code []byte) *host.Prepared {
	tb.Helper()
	p, err := host.Prepare(code)
	if err != nil {
		tb.Fatalf("prepare: %v", err)
	}
	return p
}

var engines = []host.EngineKind{host.Compiler, host.Interpreter}

func newHost(tb testing.TB, cfg host.Config) *host.Host {
	tb.Helper()
	h, err := host.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func load(tb testing.TB, h *host.Host, p *host.Prepared) *host.Module {
	tb.Helper()
	m, err := h.Load(context.Background(), p)
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	return m
}

var txTime = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
