// Command profsum says where the network's CPU went, per transaction, in a
// run of `fmbench --node-profiles DIR -o json`: it reads the run's
// JSON, opens each step's CPU profiles (one per peer, orderer and chaincode
// service) and splits every sample into one category of work (signature
// checks, ledger reads, LevelDB compaction, the Wasm rule, ...), divided by
// the transactions the step committed.
//
//	FEDMETER_PPROF=1 FEDMETER_CHAINCODES="fedmeter putget" make network-up
//	network/fabric/bench.sh --inflight 32 --node-profiles /tmp/prof -o json > run.json
//	go run ./network/fabric/profsum run.json                      # every step
//	go run ./network/fabric/profsum -diff put/1,release/1 run.json # release minus Put
//	go run ./network/fabric/profsum -diff usage/1,usage/3 run.json # what grew
//
// A step is named workload/round (usage/3), workload/round/load when a
// round has the workload at several loads (usage/3/inflight=128), or by
// its profile folder (12-usage-inflight=32). The bench's own CPU figures
// come from /proc and cover the whole process; these come from Go's
// profiler (100 samples a second), so the totals differ by a few percent.
//
// Why categories and not functions: the question a run answers is "which
// part of Fabric or of fedmeter costs more", and one part shows up under
// many functions (a LevelDB read is reached from endorsement, validation
// and commit). A sample goes to the first category, in the order of
// [categories], that any frame of its stack matches, so signature checks
// inside validation count as signatures, and validation's ledger reads as
// ledger reads.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/google/pprof/profile"
)

// category is one kind of work, recognised by a frame of a sample's stack.
type category struct {
	name string
	re   *regexp.Regexp
}

// categories: first the mechanisms, wherever they run (a signature check
// in validation is a signature check), then the part of a node whose own
// code is left. A sample counts once, in the first category one of its
// frames matches. gRPC's server frames are at the root of every request's
// stack, so gRPC counts only its transport and message frames: the
// endorsement a request runs is endorsement.
var categories = []category{
	{"signatures (ECDSA sign/verify)", regexp.MustCompile(`^crypto/ecdsa\.|^crypto/internal/fips140/ecdsa\.`)},
	{"hashing (SHA-256)", regexp.MustCompile(`^crypto/sha256\.|^crypto/internal/fips140/sha256\.`)},
	{"LevelDB compaction", regexp.MustCompile(`goleveldb/leveldb\.\(\*DB\)\.(tCompaction|mCompaction|compactionTransact)`)},
	{"LevelDB reads", regexp.MustCompile(`goleveldb/leveldb\.\(\*DB\)\.(Get|get|NewIterator)$|goleveldb/leveldb\.\(\*dbIter\)`)},
	{"LevelDB writes", regexp.MustCompile(`goleveldb/leveldb\.\(\*DB\)\.(Write|writeLocked|writeJournal)$`)},
	{"block store", regexp.MustCompile(`fabric/common/ledger/blkstorage\.`)},
	{"Wasm rule: memory restore", regexp.MustCompile(`fedmeter/host\.\(\*Module\)\.restore$`)},
	{"Wasm rule: run", regexp.MustCompile(`fedmeter/fedmeter/host\.|tetratelabs/wazero`)},
	// Go's profiler cannot walk a stack outside Go code: wazero's compiled
	// machine code (a rule running) shows as runtime._ExternalCode alone.
	{"outside Go (compiled Wasm)", regexp.MustCompile(`^runtime\._ExternalCode$`)},
	{"JSON", regexp.MustCompile(`^encoding/json\.`)},
	{"protobuf", regexp.MustCompile(`^google\.golang\.org/protobuf/`)},
	{"gRPC transport and messages", regexp.MustCompile(`^google\.golang\.org/grpc/internal/transport\.|^golang\.org/x/net/http2\.|^google\.golang\.org/grpc\.(recv|encode|compress|prepareMsg|\(\*parser\)|\(\*csAttempt\)|\(\*serverStream\)|\(\*clientStream\)|\(\*addrConn\))`)},
	{"garbage collection", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcDrain|bgsweep|bgscavenge|gcAssistAlloc|markroot|scanobject)`)},
	{"memory allocation", regexp.MustCompile(`^runtime\.(mallocgc|newobject|growslice|makeslice)$`)},
	{"syscalls", regexp.MustCompile(`^syscall\.|^internal/runtime/syscall|^internal/poll\.`)},
	{"peer: endorsement and gateway", regexp.MustCompile(`fabric/core/endorser\.|fabric/internal/pkg/gateway\.|fabric/core/handlers/auth|fabric/core/aclmgmt`)},
	{"peer: validation and commit", regexp.MustCompile(`fabric/core/committer|fabric/core/ledger|fabric/gossip/privdata`)},
	{"peer: chaincode handler", regexp.MustCompile(`fabric/core/chaincode\.`)},
	{"peer: gossip and block delivery", regexp.MustCompile(`fabric/gossip/|fabric/internal/pkg/peer/blocksprovider|fabric/core/deliverservice`)},
	{"orderer: consensus and delivery", regexp.MustCompile(`fabric/orderer/|etcd\.io/etcd/raft`)},
	{"chaincode: contract and shim", regexp.MustCompile(`fedmeter/fedmeter/chaincode|fabric-contract-api-go|fabric-chaincode-go`)},
}

const other = "other"

// group is the kind of node a profile file belongs to, from its name.
func group(file string) string {
	switch base := filepath.Base(file); {
	case strings.HasPrefix(base, "peer"):
		return "peers"
	case strings.HasPrefix(base, "orderer"):
		return "orderers"
	case strings.HasPrefix(base, "cc-"):
		return "chaincode"
	default:
		return "other nodes"
	}
}

var groups = []string{"peers", "orderers", "chaincode", "other nodes"}

// step is what profsum needs of a bench step in the run's JSON.
type step struct {
	Workload string `json:"workload"`
	Load     string `json:"load"`
	Round    int    `json:"round"`
	Tx       int64  `json:"tx"`
	Profiles string `json:"node_profiles"`
}

// usage is a step's CPU in milliseconds per committed transaction, by
// category, then by group of nodes.
type usage map[string]map[string]float64

func (u usage) add(cat, grp string, ms float64) {
	if u[cat] == nil {
		u[cat] = map[string]float64{}
	}
	u[cat][grp] += ms
}

// total is the sum over categories of a group ("" for every group).
func (u usage) total(grp string) float64 {
	var t float64
	for _, byGroup := range u {
		for g, ms := range byGroup {
			if grp == "" || g == grp {
				t += ms
			}
		}
	}
	return t
}

// classify returns the category of a stack of function names, leaf first.
func classify(frames []string) string {
	for _, c := range categories {
		for _, f := range frames {
			if c.re.MatchString(f) {
				return c.name
			}
		}
	}
	return other
}

// profileUsage adds one profile's CPU, in ms per transaction, to u.
func profileUsage(u usage, file string, tx int64) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("%s: not a CPU profile (no cpu/nanoseconds sample type)", file)
	}
	grp := group(file)
	var frames []string
	for _, s := range p.Sample {
		frames = frames[:0]
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil {
					frames = append(frames, line.Function.Name)
				}
			}
		}
		u.add(classify(frames), grp, float64(s.Value[idx])/1e6/float64(tx))
	}
	return nil
}

// stepUsage reads every profile of a step.
func stepUsage(s step) (usage, error) {
	if s.Tx <= 0 {
		return nil, fmt.Errorf("step %s committed no transaction", s.Profiles)
	}
	files, err := filepath.Glob(filepath.Join(s.Profiles, "*.pprof"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no profiles (*.pprof) in %s", s.Profiles)
	}
	u := usage{}
	for _, f := range files {
		if err := profileUsage(u, f, s.Tx); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// readRun returns the steps of a bench run that have node profiles.
func readRun(r io.Reader) ([]step, error) {
	var run struct {
		Steps []step `json:"steps"`
	}
	if err := json.NewDecoder(r).Decode(&run); err != nil {
		return nil, fmt.Errorf("not the JSON of `fmbench -o json`: %w", err)
	}
	var out []step
	for _, s := range run.Steps {
		if s.Profiles != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no step of the run has node profiles: run the bench with --node-profiles DIR on a network started with FEDMETER_PPROF=1")
	}
	return out, nil
}

// A step answers to its short name (workload/round), its full name
// (workload/round/load) and its profile folder.
func (s step) short() string  { return fmt.Sprintf("%s/%d", s.Workload, s.Round) }
func (s step) full() string   { return fmt.Sprintf("%s/%d/%s", s.Workload, s.Round, s.Load) }
func (s step) folder() string { return filepath.Base(s.Profiles) }

// find returns the step a name designates, refusing a name that fits
// several steps.
func find(steps []step, name string) (step, error) {
	var hits []step
	for _, s := range steps {
		for _, n := range []string{s.short(), s.full(), s.folder()} {
			if n == name {
				hits = append(hits, s)
				break
			}
		}
	}
	switch len(hits) {
	case 0:
		var all []string
		for _, s := range steps {
			if n := s.full(); !slices.Contains(all, n) {
				all = append(all, n)
			}
		}
		return step{}, fmt.Errorf("no step %q; the run has %s (or name a profile folder)", name, strings.Join(all, ", "))
	case 1:
		return hits[0], nil
	}
	// The same workload at the same load twice in a round (the bench's
	// Put runs before each fedmeter workload): only the folders differ.
	var all []string
	for _, s := range hits {
		all = append(all, s.folder())
	}
	return step{}, fmt.Errorf("step %q is ambiguous: name one of %s", name, strings.Join(all, ", "))
}

// rows are the categories in the table's order, then "other".
func rows() []string {
	out := make([]string, 0, len(categories)+1)
	for _, c := range categories {
		out = append(out, c.name)
	}
	return append(out, other)
}

// printStep writes a step's table: ms per transaction by category and group.
func printStep(w io.Writer, s step, u usage) {
	fmt.Fprintf(w, "%s (%d tx): CPU ms per transaction\n", s.full(), s.Tx)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "category\t%s\tall\t\n", strings.Join(groups, "\t"))
	for _, cat := range rows() {
		if u[cat] == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t", cat)
		for _, g := range groups {
			fmt.Fprintf(tw, "%.3f\t", u[cat][g])
		}
		fmt.Fprintf(tw, "%.3f\t\n", sum(u[cat]))
	}
	fmt.Fprintf(tw, "total\t")
	for _, g := range groups {
		fmt.Fprintf(tw, "%.3f\t", u.total(g))
	}
	fmt.Fprintf(tw, "%.3f\t\n", u.total(""))
	tw.Flush()
}

func sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// printDiff writes, by category, a's and b's ms per transaction over all
// nodes and b minus a, largest difference first.
func printDiff(w io.Writer, a, b step, ua, ub usage) {
	fmt.Fprintf(w, "%s (%d tx) -> %s (%d tx): CPU ms per transaction, all nodes\n", a.full(), a.Tx, b.full(), b.Tx)
	type row struct {
		cat    string
		va, vb float64
	}
	var rs []row
	for _, cat := range rows() {
		if ua[cat] == nil && ub[cat] == nil {
			continue
		}
		rs = append(rs, row{cat, sum(ua[cat]), sum(ub[cat])})
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].vb-rs[i].va > rs[j].vb-rs[j].va })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "category\t%s\t%s\tdifference\t\n", a.short(), b.short())
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%+.3f\t\n", r.cat, r.va, r.vb, r.vb-r.va)
	}
	fmt.Fprintf(tw, "total\t%.3f\t%.3f\t%+.3f\t\n", ua.total(""), ub.total(""), ub.total("")-ua.total(""))
	tw.Flush()
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("profsum", flag.ContinueOnError)
	fs.SetOutput(stdout)
	diff := fs.String("diff", "", "`A,B`: by category, step A's and step B's CPU per transaction and B minus A (steps named workload/round, workload/round/load or by profile folder)")
	only := fs.String("step", "", "print only this `step`'s table")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: profsum [-step S | -diff A,B] RUN.json\n\nWhere the network's CPU went per transaction in a run of\n`fmbench --node-profiles DIR -o json` (see the package doc).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *diff != "" && *only != "" {
		return errors.New("give -step and -diff one at a time")
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give one run: the JSON `fmbench -o json` wrote")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	steps, err := readRun(f)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	switch {
	case *diff != "":
		an, bn, ok := strings.Cut(*diff, ",")
		if !ok {
			return fmt.Errorf("-diff %q: give two steps, A,B", *diff)
		}
		a, err := find(steps, an)
		if err != nil {
			return err
		}
		b, err := find(steps, bn)
		if err != nil {
			return err
		}
		ua, err := stepUsage(a)
		if err != nil {
			return err
		}
		ub, err := stepUsage(b)
		if err != nil {
			return err
		}
		printDiff(stdout, a, b, ua, ub)
	case *only != "":
		s, err := find(steps, *only)
		if err != nil {
			return err
		}
		u, err := stepUsage(s)
		if err != nil {
			return err
		}
		printStep(stdout, s, u)
	default:
		for i, s := range steps {
			u, err := stepUsage(s)
			if err != nil {
				return err
			}
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			printStep(stdout, s, u)
		}
	}
	return nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "profsum:", err)
		os.Exit(1)
	}
}
