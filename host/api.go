package host

import (
	"time"
)

// EngineKind selects wazero's execution engine. Both give identical results and
// gas for every prepared module; the differential tests hold them to it.
type EngineKind int

const (
	// Compiler is wazero's optimizing compiler (the default, amd64 and arm64).
	Compiler EngineKind = iota
	// Interpreter is wazero's interpreter: slower, available everywhere.
	Interpreter
)

func (k EngineKind) String() string {
	if k == Interpreter {
		return "interpreter"
	}
	return "compiler"
}

// Config configures a Host.
type Config struct {
	Engine EngineKind
	// CacheDir, if set, keeps wazero's compiled code on disk so that a
	// restarted process does not recompile the modules it already saw.
	CacheDir string
	// MaxModules bounds the compiled modules kept in memory (default 64).
	// The least recently used one is closed when a new one is loaded.
	MaxModules int
	// MaxMemoryBytes bounds the memory the cached modules hold, in bytes
	// (default DefaultMaxMemoryBytes): each counts its compiled code
	// (estimated), its snapshot and a full pool of instances at the
	// snapshot's size. Least recently used modules are closed to keep
	// under it, as for MaxModules.
	MaxMemoryBytes int64
	// MaxCallsInFlight bounds the calls the host runs at once (default
	// DefaultMaxCallsInFlight); more wait. Each may grow its instance to
	// Profile.MaxMemoryPages, so this bounds the memory beyond the cache.
	// Calls do no I/O: more at once than CPUs run no faster.
	MaxCallsInFlight int
	// Profile defaults to ProfileV1.
	Profile *Profile
}

// Defaults of Config. With ProfileV1 the host holds at most
// DefaultMaxMemoryBytes + DefaultMaxCallsInFlight x 64 MiB of rule memory
// (RATIONALE.md, "Memory").
const (
	DefaultMaxMemoryBytes   = 1 << 30
	DefaultMaxCallsInFlight = 16
)

// Prepared is a module after preparation: the bytes a Host compiles and runs.
type Prepared struct {
	// Code is the instrumented module.
	Code []byte
	// Hash is the SHA-256 of Code: the cache key and what a ledger records.
	Hash [32]byte
	// SourceHash is the SHA-256 of the uploaded bytes: what a vote names.
	SourceHash [32]byte
	// Profile is the Version of the Profile it was prepared under.
	Profile string
	// ABI is the ABI version the module declared (1).
	ABI int
}

// Call is one billing call.
type Call struct {
	// Input is the ABI v1 input JSON (see ABI.md).
	Input []byte
	// GasLimit bounds the call; 0 means DefaultGasLimit.
	GasLimit uint64
	// TxTime is what the module's realtime clock reads.
	TxTime time.Time
	// TxID seeds the module's random_get stream.
	TxID string
}

// DefaultGasLimit is the gas limit of a Call that sets none. On the
// compiler it is at most about 0.27 s of the slowest standard rule's code
// (a stock-Go rule, ~750 gas per microsecond of CPU on a loaded machine),
// 1.6-2.6 s on the interpreter: docs/benchmarks.md, "Gas per microsecond of
// the standard rules" (rules/ruletest's BenchmarkGasRate).
const DefaultGasLimit = 200_000_000

// Result is what a call produced. Bill returns a non-nil Result with GasUsed and
// the log even when the call failed, for diagnostics.
type Result struct {
	// Bill is the validated output; zero if the call failed.
	Bill Bill
	// Output is the rule's output bytes exactly as returned.
	Output []byte
	// GasUsed is the gas the call consumed; equal to the limit on ErrOutOfGas.
	GasUsed uint64
	// Log is what the module wrote to stdout and stderr, at most
	// Profile.MaxLogBytes; LogTruncated says whether more was dropped.
	Log          []byte
	LogTruncated bool
}

// Bill is a rule's validated output: amounts in minor units of Currency, with
// Scale decimal places (scale 2: cents). The amounts of Lines sum to Total.
type Bill struct {
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	Lines    []Line `json:"lines"`
}

// Line is one item of a bill. Quantity, Unit and UnitPrice are informative; the
// Amount is what counts. A negative Amount is a discount.
type Line struct {
	Item      string `json:"item"`
	Quantity  int64  `json:"quantity,omitempty"`
	Unit      string `json:"unit,omitempty"`
	UnitPrice int64  `json:"unit_price,omitempty"`
	Amount    int64  `json:"amount"`
}
