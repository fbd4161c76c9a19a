// Package embedded is fedmeter's durable single-machine ledger: it runs the
// unmodified contract (any shim.Chaincode, normally fabric-contract-api-go's
// router) in-process against a bbolt store, with the guarantees a user
// expects of a ledger:
//
//   - every transaction commits atomically (all its writes or none) and is
//     durable (fsync) before Submit returns;
//   - submissions are serialized, so there are no lost updates and no
//     conflicts to retry;
//   - every committed transaction is appended as a block to a log chained by
//     SHA-256, and Verify replays that log to check the chain, the state, the
//     key history and the indexes;
//   - the contract sees Fabric semantics: reads come from committed state
//     (never the transaction's own writes), range and composite-key queries
//     with pagination, key history newest first, a real serialized X.509
//     creator, one tx timestamp, one event per transaction.
//
// See README.md for the store layout, concurrency model and measurements.
package embedded

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	bolt "go.etcd.io/bbolt"
)

// Options configure a Ledger. The zero value is usable.
type Options struct {
	// ChannelID is what the contract's GetChannelID returns (default "channelall").
	ChannelID string
	// ChaincodeName is the chaincode namespace (range query results' Namespace,
	// the signed proposal's chaincode ID). Default "fedmeter".
	ChaincodeName string
	// NoSync skips fsync on commit. Tests only: a power loss (not a process
	// crash) can then lose acknowledged transactions or corrupt the file.
	NoSync bool
	// Clock supplies transaction timestamps (default time.Now). Timestamps are
	// forced to be non-decreasing across committed transactions. Tests can pin
	// it to get reproducible bills.
	Clock func() time.Time
	// MaxBatch bounds how many queued Submits share one bbolt commit (group
	// commit). Default 256; 1 disables grouping (one fsync per transaction).
	MaxBatch int
	// ReadOnly opens the store for reading only: a shared lock (any number
	// of read-only opens at once), the file opened read-only (a read-only
	// folder is readable), nothing created; Submit returns ErrReadOnly.
	ReadOnly bool
	// Wait is how long Open waits for the store's lock while another
	// process holds it (default 2s; negative: do not wait). A read-only
	// Open that finds a writer serving readers reads through it at once
	// (see README.md, "Processes"). When the wait runs out, Open fails with
	// an error wrapping ErrBusy.
	Wait time.Duration
	// Since, a Checkpoint this process took of a ledger it closed, lets
	// Open skip the full state scan of its check when the store's head and
	// state hash are still the checkpoint's (nobody committed since). The
	// cheap checks still run. For a process that closes and reopens a
	// ledger between transactions (the fedmeter CLI does, so that other
	// processes can read meanwhile).
	Since *Checkpoint
}

// Checkpoint is a ledger's head and state hash, as Close left them.
type Checkpoint struct {
	height uint64
	tip    [32]byte
	lanes  ltHash
}

// Checkpoint returns the ledger's head and state hash (nil if Open's check
// failed). Take it after Close
// (before, a concurrent Submit may move them).
func (l *Ledger) Checkpoint() *Checkpoint {
	if l.integrity != nil {
		return nil // never vouch for a store that failed its check
	}
	return &Checkpoint{height: l.height, tip: l.tip, lanes: l.lanes}
}

// Defaults for Options.
const (
	DefaultChannelID     = "channelall"
	DefaultChaincodeName = "fedmeter"
	defaultMaxBatch      = 256
	// maxBatchArgBytes stops a batch from growing once its transactions'
	// arguments total this much, bounding the memory one commit holds.
	maxBatchArgBytes = 64 << 20
	// dbFile is the bbolt file inside the ledger directory.
	dbFile = "ledger.db"
	// storeFormat is recorded in the meta bucket; Open refuses other formats.
	storeFormat = "fedmeter-embedded/2"
	// defaultWait is Options.Wait's default.
	defaultWait = 2 * time.Second
)

// Errors callers may test with errors.Is.
var (
	// ErrClosed is returned by calls on a closed ledger.
	ErrClosed = errors.New("embedded: ledger closed")
	// ErrNotFound is returned when a block or transaction does not exist.
	ErrNotFound = errors.New("embedded: not found")
	// ErrNotSupported is returned by stub methods the embedded ledger does not
	// implement (private data, rich queries, chaincode-to-chaincode calls,
	// state-based endorsement).
	ErrNotSupported = errors.New("not supported on the embedded ledger")
	// ErrBusy is returned by Open when another process holds the ledger
	// and the wait (Options.Wait) ran out.
	ErrBusy = errors.New("embedded: ledger is in use by another process")
	// ErrReadOnly is returned by Submit on a ledger opened read-only.
	ErrReadOnly = errors.New("embedded: ledger opened read-only")
	// ErrTampered is wrapped by the *IntegrityError that Submit and
	// Evaluate return when Open found the store altered.
	ErrTampered = errors.New("embedded: the store was altered outside the ledger")
	// ErrIdentity is wrapped by the error Submit and Evaluate return for
	// an identity that does not chain to the roots of the MSP it claims.
	ErrIdentity = errors.New("embedded: identity refused")
)

// IntegrityError is what Open's check found wrong (see Check). Every Submit
// and Evaluate on the ledger returns it; the read helpers and Verify still
// work, to look into the damage.
type IntegrityError struct {
	Reason string
}

func (e *IntegrityError) Error() string {
	return "embedded: the store was altered outside the ledger: " + e.Reason
}

// Unwrap makes errors.Is(err, ErrTampered) hold.
func (e *IntegrityError) Unwrap() error { return ErrTampered }

// ChaincodeError is returned by Submit and Evaluate when the contract answers
// with a status >= 400 (shim.ERRORTHRESHOLD). Nothing was written. Message is
// the contract's own error text.
type ChaincodeError struct {
	TxID    string
	Status  int32
	Message string
}

func (e *ChaincodeError) Error() string {
	return fmt.Sprintf("chaincode error (status %d, tx %s): %s", e.Status, e.TxID, e.Message)
}

// Result is the outcome of a committed transaction.
type Result struct {
	TxID    string
	Payload []byte  // the contract's response payload
	Events  []Event // the event set by the transaction, if any (at most one)
	Block   uint64  // the block (= transaction sequence number) that holds it
	// Unchanged: the transaction wrote nothing and set no event, so no
	// block was appended (Block is then the height at that moment, the
	// number the next block will get). Its tx ID is in no block.
	Unchanged bool
}

// Ledger is an open embedded ledger. All methods are safe for concurrent use.
type Ledger struct {
	db        *bolt.DB
	cc        shim.Chaincode
	channelID string
	ccName    string
	clock     func() time.Time
	maxBatch  int
	readOnly  bool
	dir       string
	since     *Checkpoint

	// integrity is Open's check (nil: the store matched its log).
	integrity error
	// trust holds the MSP roots the config defines (see msp.go).
	trust *trustStore

	// nonceSalt is random per Open and nonceCtr counts up: together they make
	// each transaction's 24-byte nonce (and so its tx ID) unique across runs.
	nonceSalt [16]byte
	nonceCtr  atomic.Uint64

	// lastTS is the newest committed tx timestamp (unix nanos); Evaluate uses
	// it to keep query timestamps non-decreasing too.
	lastTS atomic.Int64

	// Worker-owned chain head; only the commit worker reads or writes these.
	height uint64
	tip    [32]byte
	wLast  int64
	lanes  ltHash // the state's LtHash after the last committed block

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan *request
	done   chan struct{}
}

type request struct {
	ctx     context.Context
	id      *msp.Identity
	creator []byte
	fn      string
	args    []string
	config  *configWrite // a config transaction (DefineMSP) instead of the contract
	reads   *ReadSet     // Evaluate: record what the contract reads
	resp    chan response
}

type response struct {
	res *Result
	err error
}

// bucket names. See README.md "Store layout".
var (
	bktMeta       = []byte("meta")
	bktState      = []byte("state")
	bktHistory    = []byte("history")
	bktBlocks     = []byte("blocks")
	bktTxIDs      = []byte("txids")
	bktIdentities = []byte("identities")
	bktConfig     = []byte("config")

	metaFormat    = []byte("format")
	metaChannel   = []byte("channel")
	metaChaincode = []byte("chaincode")
	metaHeight    = []byte("height")
	metaTip       = []byte("tip")
	metaLastTS    = []byte("lastts")
	metaStateHash = []byte("statehash")
)

// configPrefix begins every config key (an MSP's roots: configPrefix +
// "msp/" + MSP ID). It is not valid UTF-8, so no contract key (the stub
// refuses those) can ever collide with one; config writes go to the config
// bucket instead of the state the contract sees.
const configPrefix = "\xff"

func isConfigKey(k string) bool { return len(k) > 0 && k[0] == configPrefix[0] }

// Open opens (creating if needed) the ledger stored in dir and binds it to
// the contract cc. A store created with a different channel or chaincode name
// is refused, so state from one deployment is never served as another's.
//
// One process at a time may open a ledger for writing; read-only opens
// (Options.ReadOnly) share it with each other. Open waits up to
// Options.Wait for the lock, then fails with an error wrapping ErrBusy.
//
// Open checks, cheaply, that the store still matches its log (see Check);
// a store that does not is opened all the same, for Verify and the read
// helpers, but refuses Submit and Evaluate.
func Open(dir string, cc shim.Chaincode, opts Options) (*Ledger, error) {
	if cc == nil {
		return nil, errors.New("embedded: open: nil chaincode")
	}
	if opts.ChannelID == "" {
		opts.ChannelID = DefaultChannelID
	}
	if opts.ChaincodeName == "" {
		opts.ChaincodeName = DefaultChaincodeName
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = defaultMaxBatch
	}
	if opts.Wait == 0 {
		opts.Wait = defaultWait
	}
	path := filepath.Join(dir, dbFile)
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("embedded: open %s: %w", path, err)
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", dir, err)
	}
	db, err := openDB(path, opts)
	if err != nil {
		return nil, err
	}
	l := &Ledger{
		db:        db,
		cc:        cc,
		channelID: opts.ChannelID,
		ccName:    opts.ChaincodeName,
		clock:     opts.Clock,
		maxBatch:  opts.MaxBatch,
		readOnly:  opts.ReadOnly,
		dir:       dir,
		since:     opts.Since,
		queue:     make(chan *request, 1024),
		done:      make(chan struct{}),
		trust:     newTrustStore(),
	}
	if _, err := rand.Read(l.nonceSalt[:]); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open: nonce salt: %w", err)
	}
	if err := l.initStore(); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if err := l.db.View(l.check); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if l.readOnly {
		close(l.done)
	} else {
		go l.worker()
	}
	return l, nil
}

// openDB opens the bbolt file, waiting up to opts.Wait for its lock.
func openDB(path string, opts Options) (*bolt.DB, error) {
	timeout := opts.Wait
	if timeout < 0 {
		timeout = time.Nanosecond // bbolt: one try (0 would wait for ever)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: opts.ReadOnly,
		NoSync:   opts.NoSync,
		// The freelist is rebuilt on open instead of written on every
		// commit: fewer pages per fsync, at the cost of a scan at Open.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Reserve address space up front so the file rarely needs a
		// remap (a remap waits for all open read transactions).
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("embedded: open %s: %w", path, ErrBusy)
		}
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	return db, nil
}

// initStore creates the buckets of a new store or checks an existing one's
// format and binding, and loads the chain head.
func (l *Ledger) initStore() error {
	if l.readOnly {
		return l.db.View(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bktMeta, bktState, bktHistory, bktBlocks, bktTxIDs, bktIdentities, bktConfig} {
				if tx.Bucket(name) == nil {
					if meta := tx.Bucket(bktMeta); meta != nil && string(meta.Get(metaFormat)) != storeFormat {
						return fmt.Errorf("store format %q, this build reads %q", meta.Get(metaFormat), storeFormat)
					}
					return fmt.Errorf("not a ledger store: no bucket %s", name)
				}
			}
			return l.loadStore(tx)
		})
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bktMeta); meta != nil {
			if f := meta.Get(metaFormat); f != nil && string(f) != storeFormat {
				return fmt.Errorf("store format %q, this build reads %q (there is no migration: start a new ledger)", f, storeFormat)
			}
		}
		for _, name := range [][]byte{bktMeta, bktState, bktHistory, bktBlocks, bktTxIDs, bktIdentities, bktConfig} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bktMeta)
		if f := meta.Get(metaFormat); f == nil {
			var zero ltHash
			for k, v := range map[string]string{
				string(metaFormat): storeFormat, string(metaChannel): l.channelID, string(metaChaincode): l.ccName,
				string(metaStateHash): string(zero.bytes()),
			} {
				if err := meta.Put([]byte(k), []byte(v)); err != nil {
					return err
				}
			}
		}
		return l.loadStore(tx)
	})
}

// loadStore checks the binding and loads the head, the state hash and the
// MSP roots.
func (l *Ledger) loadStore(tx *bolt.Tx) error {
	meta := tx.Bucket(bktMeta)
	if f := string(meta.Get(metaFormat)); f != storeFormat {
		return fmt.Errorf("store format %q, this build reads %q (there is no migration: start a new ledger)", f, storeFormat)
	}
	if ch := string(meta.Get(metaChannel)); ch != l.channelID {
		return fmt.Errorf("store belongs to channel %q, not %q", ch, l.channelID)
	}
	if cc := string(meta.Get(metaChaincode)); cc != l.ccName {
		return fmt.Errorf("store belongs to chaincode %q, not %q", cc, l.ccName)
	}
	var err error
	l.height, l.tip, l.wLast, err = readHead(meta)
	if err != nil {
		return err
	}
	l.lastTS.Store(l.wLast)
	if err := l.lanes.setBytes(meta.Get(metaStateHash)); err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	return l.trust.load(tx.Bucket(bktConfig))
}

func readHead(meta *bolt.Bucket) (height uint64, tip [32]byte, lastTS int64, err error) {
	if v := meta.Get(metaHeight); v != nil {
		if len(v) != 8 {
			return 0, tip, 0, fmt.Errorf("meta height: bad length %d", len(v))
		}
		height = binary.BigEndian.Uint64(v)
	}
	if v := meta.Get(metaTip); v != nil {
		if len(v) != 32 {
			return 0, tip, 0, fmt.Errorf("meta tip: bad length %d", len(v))
		}
		copy(tip[:], v)
	}
	if v := meta.Get(metaLastTS); v != nil {
		if len(v) != 8 {
			return 0, tip, 0, fmt.Errorf("meta lastts: bad length %d", len(v))
		}
		lastTS = int64(binary.BigEndian.Uint64(v))
	}
	return height, tip, lastTS, nil
}

// Close waits for queued Submits to finish, stops the commit worker and
// closes the store. Calls after Close return ErrClosed.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.queue)
	l.mu.Unlock()
	<-l.done
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// Submit runs fn(args...) as a transaction by identity id, through the
// contract's Invoke (contractapi's router, exactly as on Fabric). If the
// contract answers with a status < 400 its writes, a block and the history
// entries are committed atomically and durably before Submit returns;
// otherwise nothing is written and the error is a *ChaincodeError carrying
// the contract's message.
//
// Submits are executed one at a time in arrival order; each sees the state
// left by all earlier ones, so there are no lost updates. Queued Submits are
// committed together (group commit, one fsync for many transactions), but
// each keeps its own atomicity and its own block.
//
// ctx is honoured until the transaction starts executing; after that Submit
// always waits for the outcome, so a returned error never hides a commit.
func (l *Ledger) Submit(ctx context.Context, id *msp.Identity, fn string, args ...string) (*Result, error) {
	return l.submit(ctx, id, nil, fn, args...)
}

func (l *Ledger) submit(ctx context.Context, id *msp.Identity, config *configWrite, fn string, args ...string) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.readOnly {
		return nil, fmt.Errorf("embedded: submit %s: %w", fn, ErrReadOnly)
	}
	if l.integrity != nil {
		return nil, l.integrity
	}
	creator, err := id.Serialize()
	if err != nil {
		return nil, fmt.Errorf("embedded: submit %s: %w", fn, err)
	}
	if err := l.trust.checkCreator(creator); err != nil {
		return nil, err
	}
	req := &request{ctx: ctx, id: id, creator: creator, fn: fn, args: args, config: config, resp: make(chan response, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case l.queue <- req:
	case <-ctx.Done():
		l.mu.RUnlock()
		return nil, ctx.Err()
	}
	l.mu.RUnlock()
	r := <-req.resp
	return r.res, r.err
}

// Evaluate runs fn(args...) as a query: like Submit, but against a read-only
// snapshot of committed state, concurrently with other calls, and any writes
// the contract makes are discarded. It returns the response payload.
func (l *Ledger) Evaluate(ctx context.Context, id *msp.Identity, fn string, args ...string) ([]byte, error) {
	return l.EvaluateReads(ctx, nil, id, fn, args...)
}

// EvaluateReads is Evaluate that also adds to rs every state entry the
// contract read (and the blocks its history queries read), for Prove.
// A nil rs records nothing.
func (l *Ledger) EvaluateReads(ctx context.Context, rs *ReadSet, id *msp.Identity, fn string, args ...string) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.integrity != nil {
		return nil, l.integrity
	}
	creator, err := id.Serialize()
	if err != nil {
		return nil, fmt.Errorf("embedded: evaluate %s: %w", fn, err)
	}
	if err := l.trust.checkCreator(creator); err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	ts := l.clock().UnixNano()
	if last := l.lastTS.Load(); ts < last {
		ts = last
	}
	var payload []byte
	err = l.db.View(func(tx *bolt.Tx) error {
		st, resp := l.execute(tx, &request{ctx: ctx, id: id, creator: creator, fn: fn, args: args, reads: rs}, ts)
		if resp.Status >= shim.ERRORTHRESHOLD {
			return &ChaincodeError{TxID: st.txID, Status: resp.Status, Message: resp.Message}
		}
		payload = resp.Payload
		return nil
	})
	if err != nil {
		var ce *ChaincodeError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("embedded: evaluate %s: %w", fn, err)
	}
	return payload, nil
}

// worker is the single writer. It takes whatever Submits are queued (up to
// MaxBatch), executes them one after another inside one bbolt write
// transaction, and commits them with one fsync. Executing inside the write
// transaction is what lets a later transaction of the batch read an earlier
// one's writes before they are durable; acknowledgements wait for the commit.
func (l *Ledger) worker() {
	defer close(l.done)
	for req := range l.queue {
		batch := []*request{req}
		argBytes := reqBytes(req)
	fill:
		for len(batch) < l.maxBatch && argBytes < maxBatchArgBytes {
			select {
			case r, ok := <-l.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
				argBytes += reqBytes(r)
			default:
				break fill
			}
		}
		l.commitBatch(batch)
	}
}

func reqBytes(r *request) int {
	n := len(r.fn)
	for _, a := range r.args {
		n += len(a)
	}
	return n
}

func (l *Ledger) commitBatch(batch []*request) {
	resps := make([]response, len(batch))
	height, tip, last, lanes := l.height, l.tip, l.wLast, l.lanes
	err := l.db.Update(func(tx *bolt.Tx) error {
		for i, req := range batch {
			if err := req.ctx.Err(); err != nil {
				resps[i].err = err
				continue
			}
			ts := l.clock().UnixNano()
			if ts < l.wLast {
				ts = l.wLast
			}
			var (
				txID    string
				payload []byte
				writes  []Write
				event   *Event
			)
			if req.config != nil {
				// A config block takes the last transaction's time: defining
				// an MSP does not move the ledger's clock (a ledger whose
				// story runs at pinned times keeps them).
				if l.wLast > 0 {
					ts = l.wLast
				}
				txID = computeTxID(l.nextNonce(), req.creator)
				var err error
				if writes, err = l.executeConfig(tx, req); err != nil {
					resps[i].err = fmt.Errorf("embedded: %s: %w", req.fn, err)
					continue
				}
			} else {
				st, resp := l.execute(tx, req, ts)
				if resp.Status >= shim.ERRORTHRESHOLD {
					resps[i].err = &ChaincodeError{TxID: st.txID, Status: resp.Status, Message: resp.Message}
					continue
				}
				txID, payload, writes, event = st.txID, resp.Payload, st.writeSet(), st.event
			}
			if len(writes) == 0 && event == nil {
				// Nothing changed: no block (an all-duplicate usage batch
				// would otherwise append an empty one).
				resps[i].res = &Result{TxID: txID, Payload: payload, Block: l.height, Unchanged: true}
				continue
			}
			blk := &Block{
				Number:      l.height,
				PrevHash:    l.tip,
				TxID:        txID,
				Timestamp:   time.Unix(0, ts).UTC(),
				CreatorMSP:  req.id.MSPID,
				CreatorHash: sha256.Sum256(req.creator),
				Function:    req.fn,
				ArgsHash:    argsHash(req.fn, req.args),
				Writes:      writes,
			}
			if event != nil {
				blk.Events = []Event{*event}
			}
			if err := l.apply(tx, blk, req.creator); err != nil {
				// The write transaction is now unusable: fail the batch.
				return fmt.Errorf("tx %s: %w", txID, err)
			}
			resps[i].res = &Result{TxID: txID, Payload: payload, Events: blk.Events, Block: blk.Number}
		}
		if l.height == height {
			return nil // nothing committed: skip the meta write (and the fsync)
		}
		meta := tx.Bucket(bktMeta)
		if err := meta.Put(metaHeight, binary.BigEndian.AppendUint64(nil, l.height)); err != nil {
			return err
		}
		if err := meta.Put(metaTip, append([]byte(nil), l.tip[:]...)); err != nil {
			return err
		}
		if err := meta.Put(metaStateHash, l.lanes.bytes()); err != nil {
			return err
		}
		return meta.Put(metaLastTS, binary.BigEndian.AppendUint64(nil, uint64(l.wLast)))
	})
	if err != nil {
		// Nothing of the batch is on disk: rewind the head and fail every
		// transaction that had succeeded (the others keep their own error).
		l.height, l.tip, l.wLast, l.lanes = height, tip, last, lanes
		for i := range resps {
			if resps[i].err == nil {
				resps[i] = response{err: fmt.Errorf("embedded: commit failed, transaction not recorded: %w", err)}
			}
		}
	} else {
		l.lastTS.Store(l.wLast)
		for i, req := range batch {
			if req.config != nil && resps[i].res != nil && !resps[i].res.Unchanged {
				if err := l.trust.set(strings.TrimPrefix(req.config.key, configMSPPrefix), req.config.value); err != nil {
					resps[i].err = fmt.Errorf("embedded: %s committed but not loaded: %w", req.fn, err)
				}
			}
		}
	}
	for i, req := range batch {
		req.resp <- resps[i]
	}
}

// apply appends blk to the log and applies its writes, history entries and
// indexes, advancing the worker's chain head.
func (l *Ledger) apply(tx *bolt.Tx, blk *Block, creator []byte) error {
	state, config, hist := tx.Bucket(bktState), tx.Bucket(bktConfig), tx.Bucket(bktHistory)
	bucketOf := func(key string) *bolt.Bucket {
		if isConfigKey(key) {
			return config
		}
		return state
	}
	lanes := l.lanes
	for _, w := range blk.Writes {
		if old := bucketOf(w.Key).Get([]byte(w.Key)); old != nil {
			lanes.sub(w.Key, old)
		}
		if !w.IsDelete {
			lanes.add(w.Key, w.Value)
		}
	}
	blk.StateHash = lanes.sum()
	enc := blk.encode()
	num := binary.BigEndian.AppendUint64(nil, blk.Number)
	blocks := tx.Bucket(bktBlocks)
	blocks.FillPercent = 1.0 // keys only ever append
	if err := blocks.Put(num, enc); err != nil {
		return fmt.Errorf("put block: %w", err)
	}
	txids := tx.Bucket(bktTxIDs)
	if txids.Get([]byte(blk.TxID)) != nil {
		return fmt.Errorf("duplicate tx ID %s", blk.TxID)
	}
	if err := txids.Put([]byte(blk.TxID), num); err != nil {
		return fmt.Errorf("index tx ID: %w", err)
	}
	ids := tx.Bucket(bktIdentities)
	if ids.Get(blk.CreatorHash[:]) == nil {
		if err := ids.Put(append([]byte(nil), blk.CreatorHash[:]...), creator); err != nil {
			return fmt.Errorf("store identity: %w", err)
		}
	}
	for _, w := range blk.Writes {
		var err error
		if w.IsDelete {
			err = bucketOf(w.Key).Delete([]byte(w.Key))
		} else {
			err = bucketOf(w.Key).Put([]byte(w.Key), w.Value)
		}
		if err == nil {
			err = hist.Put(historyKey(w.Key, blk.Number), nil)
		}
		if err != nil {
			return fmt.Errorf("write %q: %w", w.Key, err)
		}
	}
	l.height = blk.Number + 1
	l.tip = sha256.Sum256(enc)
	l.wLast = blk.Timestamp.UnixNano()
	l.lanes = lanes
	return nil
}

// historyKey is uvarint(len(key)) || key || block number (8 bytes BE). The
// length prefix makes each key's entries a contiguous range that no other
// key's entries can fall into; the block number orders them by commit.
func historyKey(key string, block uint64) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(key)+8)
	b = historyPrefix(b, key)
	return binary.BigEndian.AppendUint64(b, block)
}

func historyPrefix(b []byte, key string) []byte {
	b = binary.AppendUvarint(b, uint64(len(key)))
	return append(b, key...)
}

// nextNonce returns a fresh 24-byte nonce (Fabric's nonce size).
func (l *Ledger) nextNonce() []byte {
	n := make([]byte, 0, 24)
	n = append(n, l.nonceSalt[:]...)
	return binary.BigEndian.AppendUint64(n, l.nonceCtr.Add(1))
}

// computeTxID is Fabric's rule: hex(SHA-256(nonce || creator)).
func computeTxID(nonce, creator []byte) string {
	h := sha256.New()
	h.Write(nonce)
	h.Write(creator)
	return hex.EncodeToString(h.Sum(nil))
}
