package host

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/fedmeter/fedmeter/host/internal/instrument"
	"github.com/fedmeter/fedmeter/host/internal/wasi"
	"github.com/fedmeter/fedmeter/host/internal/wasm"
)

// Prepare validates code and instruments it under ProfileV1. It is a pure
// function: the same bytes give the same Prepared on every machine. A rejected
// module yields an *InvalidModuleError (errors.Is ErrInvalidModule) whose reason
// names the offending section, import, export or instruction.
func Prepare(code []byte) (*Prepared, error) { return ProfileV1().Prepare(code) }

// Prepare validates and instruments code under profile p.
func (p Profile) Prepare(code []byte) (*Prepared, error) {
	if len(code) > p.MaxModuleBytes {
		return nil, invalidf("module is %d bytes, more than the limit of %d", len(code), p.MaxModuleBytes)
	}
	return p.prepare(code, allowedImport)
}

// prepare is Prepare with the import allow-list as a parameter, so the spec
// suite's test can admit the spectest host module's functions.
func (p Profile) prepare(code []byte, allow func(module, name string) (wasm.FuncType, bool)) (*Prepared, error) {
	cfg := p.instrumentConfig()
	cfg.Import = allow
	// The upload is validated as uploaded, completely, before it is
	// rewritten: the rewriter appends locals, globals, functions and a
	// wrapper block, so an out-of-range index in the upload would land on
	// one of them and the rewritten module would validate. The rewriter's
	// own decoder runs first (instrument.Check) because wazero allocates
	// what a count claims before reading it, and because its reasons name
	// the feature ("SIMD", "tail call") where wazero's would not.
	m, err := instrument.Check(code, cfg)
	if err != nil {
		return nil, invalidFrom(err)
	}
	if err := validate(m.Module(code)); err != nil {
		return nil, err
	}
	if err := m.CheckABI(cfg); err != nil {
		return nil, invalidFrom(err)
	}
	res, err := instrument.Rewrite(m, cfg)
	if err != nil {
		return nil, invalidFrom(err)
	}
	// Defence in depth: the output is validated too. A failure here is a
	// bug in the rewriter, not in the upload.
	if err := validate(res.Code); err != nil {
		return nil, invalidf("prepared module failed validation (a fedmeter bug; please report it): %v", err)
	}
	return &Prepared{
		Code:       res.Code,
		Hash:       sha256.Sum256(res.Code),
		SourceHash: sha256.Sum256(code),
		Profile:    p.Version,
		ABI:        res.ABI,
	}, nil
}

func invalidFrom(err error) error {
	var ie *instrument.Error
	if errors.As(err, &ie) {
		return &InvalidModuleError{Reason: ie.Reason}
	}
	return invalidf("%v", err)
}

func (p Profile) instrumentConfig() instrument.Config {
	return instrument.Config{
		MaxMemoryPages:   p.MaxMemoryPages,
		MaxTableElements: p.MaxTableElements,
		MaxFunctions:     p.MaxFunctions,
		MaxLocals:        p.MaxLocals,
		MaxCallDepth:     p.MaxCallDepth,
		MaxBodyBytes:     p.MaxBodyBytes,
		MaxCodeBytes:     p.MaxCodeBytes,
		MaxNesting:       p.MaxNesting,
		MaxBrTable:       p.MaxBrTable,
		MaxNestingWork:   p.MaxNestingWork,
		MaxBrTableWork:   p.MaxBrTableWork,
		MaxControl:       p.MaxControl,
		MaxControlWork:   p.MaxControlWork,
		InitGas:          p.InitGas,
		GasPerPage:       p.GasPerPage,
		BytesPerGas:      p.BytesPerGas,
		GasPerMemOp:      p.GasPerMemOp,
		Import:           allowedImport,
	}
}

// allowedImport is the import allow-list: the deterministic WASI subset.
func allowedImport(module, name string) (wasm.FuncType, bool) {
	if module != wasi.ModuleName {
		return wasm.FuncType{}, false
	}
	sig, ok := wasi.Functions[name]
	if !ok {
		return wasm.FuncType{}, false
	}
	return wasm.FuncType{Params: valTypes(sig.Params), Results: valTypes(sig.Results)}, true
}

func valTypes(ts []api.ValueType) []byte {
	out := make([]byte, len(ts))
	for i, t := range ts {
		out[i] = byte(t) // api.ValueType values are the binary encodings
	}
	return out
}

// runtimeConfig is the one wazero configuration modules are validated and run
// with. Features beyond it are rejected earlier by the rewriter.
func runtimeConfig(kind EngineKind, maxPages uint32) wazero.RuntimeConfig {
	var c wazero.RuntimeConfig
	if kind == Interpreter {
		c = wazero.NewRuntimeConfigInterpreter()
	} else {
		c = wazero.NewRuntimeConfigCompiler()
	}
	return c.WithCoreFeatures(api.CoreFeaturesV2).
		WithMemoryLimitPages(maxPages).
		WithCustomSections(false).
		WithDebugInfoEnabled(false).
		WithCloseOnContextDone(false)
}

var (
	validatorOnce sync.Once
	validatorRT   wazero.Runtime
)

// validate compiles code with a shared interpreter runtime, which performs
// wazero's full validation at the lowest compile cost.
func validate(code []byte) error {
	validatorOnce.Do(func() {
		validatorRT = wazero.NewRuntimeWithConfig(context.Background(), runtimeConfig(Interpreter, 65536))
	})
	cm, err := validatorRT.CompileModule(context.Background(), code)
	if err != nil {
		return invalidf("%s", firstLine(err.Error()))
	}
	return cm.Close(context.Background())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
