package host

// Profile is the set of limits and costs that preparation and execution use.
// Everything in it changes what a peer computes, so it is versioned as a whole:
// peers that run the same profile version (and the same fedmeter release, which
// pins the wazero version) prepare every module to the same bytes and bill every
// call to the same output and gas. A new limit means a new profile version.
type Profile struct {
	// Version names the profile. It is hashed into nothing but recorded with
	// every prepared module, so a ledger can tell which rules were prepared how.
	Version string

	MaxModuleBytes   int    // uploaded module size cap
	MaxMemoryPages   uint32 // 64 KiB pages, for the declared minimum and any growth
	MaxTableElements uint32 // the one table's declared minimum and maximum
	MaxFunctions     int    // defined plus imported functions
	MaxLocals        int    // locals (with params) per function
	MaxCallDepth     int32  // nested calls, counted by injected code
	MaxOutputBytes   int    // rule output
	MaxLogBytes      int    // stdout+stderr kept per call; the rest is dropped
	MaxLines         int    // line items in a bill
	MaxInputBytes    int    // input given to a rule

	// Bounds on code that keep preparation and compilation bounded in time
	// and memory: wazero's compilers are superlinear in nesting and in the
	// size of one function. docs/benchmarks.md has the measured table.
	MaxBodyBytes int // one function body
	MaxCodeBytes int // all function bodies
	MaxNesting   int // blocks, loops and ifs nested in one function
	MaxBrTable   int // targets of one br_table
	// Module-wide budgets, because a module may repeat a costly function:
	// the sum over blocks of their depth (loops count 4x), and the sum over
	// br_tables of their targets squared.
	MaxNestingWork uint64
	MaxBrTableWork uint64
	// Blocks, ifs and loops (a loop counts 4) in one function, and the sum
	// over functions of that count squared.
	MaxControl     int
	MaxControlWork uint64

	// MaxSnapshotPages bounds the memory init may leave (64 KiB pages):
	// every pooled instance holds that much, and every call restores it.
	// A module whose init leaves more fails to load with ErrMemoryLimit.
	MaxSnapshotPages uint32

	// Gas. Each price makes one unit of gas buy about the same time on
	// wazero's compiler, whatever the work (BenchmarkGasTime,
	// docs/benchmarks.md); RATIONALE.md says how each was chosen.
	InitGas          uint64 // budget of start + _initialize, once per process
	GasPerPage       uint64 // memory.grow, per 64 KiB page added
	GasPerMemOp      uint64 // base of every memory.grow/copy/fill; all a refused grow pays
	BytesPerGas      uint64 // memory.copy/fill: one unit per this many bytes
	GasPerHostCall   uint64 // base cost of every host (WASI) call
	GasPerRandomByte uint64 // random_get, per byte (instead of the usual one per byte moved)

	// Restoring the snapshot before each call, charged before the rule
	// runs: per 4 KiB of snapshot that holds data (copied) and per 4 KiB
	// that is all zero (cleared).
	GasPerRestorePage     uint64
	GasPerRestoreZeroPage uint64
}

// ProfileV1 returns the profile this release prepares and runs modules
// with. It is a function returning a copy, not a variable, because every
// peer's consensus depends on it: nothing in a process can change it.
func ProfileV1() Profile { return profileV1 }

var profileV1 = Profile{
	Version:          "fedmeter-host/2",
	MaxModuleBytes:   8 << 20,
	MaxMemoryPages:   1024, // 64 MiB
	MaxTableElements: 65536,
	MaxFunctions:     100000,
	MaxLocals:        10000,
	MaxCallDepth:     1000, // below wazero's interpreter ceiling of 2000 frames
	MaxOutputBytes:   64 << 10,
	MaxLogBytes:      16 << 10,
	MaxLines:         1000,
	MaxInputBytes:    1 << 20,
	MaxBodyBytes:     256 << 10,
	MaxCodeBytes:     4 << 20,
	MaxNesting:       1024,
	MaxBrTable:       16384,
	MaxNestingWork:   6_000_000,
	MaxBrTableWork:   1 << 28,
	MaxControl:       4096,
	MaxControlWork:   64 << 20,
	MaxSnapshotPages: 256, // 16 MiB
	InitGas:          2_000_000_000,
	GasPerPage:       50_000,
	GasPerMemOp:      64,
	BytesPerGas:      8,
	GasPerHostCall:   300,
	GasPerRandomByte: 16,

	GasPerRestorePage:     200,
	GasPerRestoreZeroPage: 50,
}
