// Package stubtest is a minimal in-memory ledger for the contract's unit
// tests: it runs a shim.Chaincode (the contract router) on a
// shim.ChaincodeStubInterface with Fabric's semantics where the contract can
// tell: reads see committed state only (no read-your-writes), a response with
// status >= 400 writes nothing, one event per transaction, range queries over
// simple keys in key order, key history, and X.509 creators with NodeOU
// roles. Time is set by the test. It is not a ledger: nothing is durable.
package stubtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Identity is a client identity: its serialized creator bytes.
type Identity struct {
	MSPID   string
	Name    string
	Admin   bool
	Creator []byte
}

// Org is a CA for one MSP.
type Org struct {
	MSPID string
	key   *ecdsa.PrivateKey
	cert  *x509.Certificate
}

// NewOrg creates an org's CA.
func NewOrg(mspID string) (*Org, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ca." + mspID, Organization: []string{mspID}},
		NotBefore:    time.Unix(0, 0), NotAfter: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Org{MSPID: mspID, key: key, cert: cert}, nil
}

var serial sync.Mutex
var nextSerial int64 = 100

// Identity issues a user certificate with OU "admin" or "client".
func (o *Org) Identity(name string, admin bool) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ou := "client"
	if admin {
		ou = "admin"
	}
	serial.Lock()
	nextSerial++
	sn := nextSerial
	serial.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(sn),
		Subject:      pkix.Name{CommonName: name + "@" + o.MSPID, OrganizationalUnit: []string{ou}},
		NotBefore:    time.Unix(0, 0), NotAfter: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, o.cert, &key.PublicKey, o.key)
	if err != nil {
		return nil, err
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	creator, err := proto.Marshal(&mspproto.SerializedIdentity{Mspid: o.MSPID, IdBytes: pemBytes})
	if err != nil {
		return nil, err
	}
	return &Identity{MSPID: o.MSPID, Name: name, Admin: admin, Creator: creator}, nil
}

// Event is a chaincode event.
type Event struct {
	Name    string
	Payload []byte
}

// Result is a committed transaction's outcome.
type Result struct {
	TxID    string
	Payload []byte
	Event   *Event
	// Reads are the keys the transaction read as Fabric records them in
	// its read set (GetState, GetMultipleStates, and the keys a range
	// query returned), sorted; history queries are not recorded.
	Reads []string
	// ReadTrips counts the messages the reads would cost on Fabric, where
	// each is a request to the peer and its answer: one per GetState,
	// GetMultipleStates or range query, one more per further 100 results
	// of a range (the peer sends them in batches), one per Close of a range
	// iterator, and two per history query (the query and closing it).
	ReadTrips int
	// Writes are the keys the transaction wrote, with their values (nil
	// for a delete).
	Writes map[string][]byte
}

// Error is a transaction the contract refused (status >= 400).
type Error struct {
	TxID    string
	Status  int32
	Message string
}

func (e *Error) Error() string { return e.Message }

type version struct {
	tx    string
	time  time.Time
	value []byte // nil: deleted
}

// Ledger holds committed state and runs transactions one at a time.
type Ledger struct {
	mu      sync.Mutex
	cc      shim.Chaincode
	state   map[string][]byte
	keys    []string // the keys of state, sorted
	history map[string][]version
	now     time.Time
	n       uint64
}

// New returns an empty ledger running cc, with the clock at start.
func New(cc shim.Chaincode, start time.Time) *Ledger {
	return &Ledger{cc: cc, state: map[string][]byte{}, history: map[string][]version{}, now: start}
}

// Now returns the ledger's clock.
func (l *Ledger) Now() time.Time { l.mu.Lock(); defer l.mu.Unlock(); return l.now }

// SetTime sets the clock; the next transactions carry that timestamp.
func (l *Ledger) SetTime(t time.Time) { l.mu.Lock(); l.now = t; l.mu.Unlock() }

// Advance moves the clock forward.
func (l *Ledger) Advance(d time.Duration) { l.mu.Lock(); l.now = l.now.Add(d); l.mu.Unlock() }

// Keys returns the committed keys with prefix, sorted (for tests).
func (l *Ledger) Keys(prefix string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ks []string
	for _, k := range l.keys {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			ks = append(ks, k)
		}
	}
	return ks
}

// Snapshot returns a copy of the committed state (for no-write checks).
func (l *Ledger) Snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]string, len(l.state))
	for k, v := range l.state {
		m[k] = string(v)
	}
	return m
}

// Submit runs fn and commits its writes if the contract succeeds.
func (l *Ledger) Submit(id *Identity, fn string, args ...string) (*Result, error) {
	return l.run(id, true, fn, args...)
}

// Evaluate runs fn and never commits.
func (l *Ledger) Evaluate(id *Identity, fn string, args ...string) ([]byte, error) {
	r, err := l.run(id, false, fn, args...)
	if err != nil {
		return nil, err
	}
	return r.Payload, nil
}

func (l *Ledger) run(id *Identity, commit bool, fn string, args ...string) (*Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	sum := sha256.Sum256([]byte(fmt.Sprintf("stubtest-tx-%d", l.n)))
	s := &Stub{l: l, txID: hex.EncodeToString(sum[:]), ts: l.now, creator: id.Creator,
		args: append([]string{fn}, args...), writes: map[string][]byte{}, reads: map[string]bool{}}
	resp := l.cc.Invoke(s)
	if resp.GetStatus() >= shim.ERRORTHRESHOLD {
		return nil, &Error{TxID: s.txID, Status: resp.GetStatus(), Message: resp.GetMessage()}
	}
	res := &Result{TxID: s.txID, Payload: resp.GetPayload(), Event: s.event, ReadTrips: s.trips, Writes: maps.Clone(s.writes)}
	for k := range s.reads {
		res.Reads = append(res.Reads, k)
	}
	sort.Strings(res.Reads)
	if commit {
		keys := make([]string, 0, len(s.writes))
		for k := range s.writes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			l.set(k, s.writes[k], s.txID, s.ts)
		}
	}
	return res, nil
}

// Put commits value under k outside any transaction (nil deletes it), as
// another program writing the same ledger would: tests use it to stand in
// for state this contract did not write.
func (l *Ledger) Put(k string, value []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	l.set(k, value, fmt.Sprintf("put-%d", l.n), l.now)
}

func (l *Ledger) set(k string, v []byte, tx string, ts time.Time) {
	_, had := l.state[k]
	i := sort.SearchStrings(l.keys, k)
	switch {
	case v == nil && had:
		delete(l.state, k)
		l.keys = append(l.keys[:i], l.keys[i+1:]...)
	case v != nil:
		if !had {
			l.keys = append(l.keys, "")
			copy(l.keys[i+1:], l.keys[i:])
			l.keys[i] = k
		}
		l.state[k] = v
	}
	l.history[k] = append(l.history[k], version{tx: tx, time: ts, value: v})
}

// Stub is the shim.ChaincodeStubInterface of one transaction. Methods the
// contract does not use panic (through the nil embedded interface).
type Stub struct {
	shim.ChaincodeStubInterface
	l       *Ledger
	txID    string
	ts      time.Time
	creator []byte
	args    []string
	writes  map[string][]byte
	reads   map[string]bool
	trips   int
	event   *Event
}

func (s *Stub) GetArgs() [][]byte {
	out := make([][]byte, len(s.args))
	for i, a := range s.args {
		out[i] = []byte(a)
	}
	return out
}
func (s *Stub) GetStringArgs() []string { return append([]string(nil), s.args...) }
func (s *Stub) GetFunctionAndParameters() (string, []string) {
	if len(s.args) == 0 {
		return "", nil
	}
	return s.args[0], append([]string(nil), s.args[1:]...)
}
func (s *Stub) GetTxID() string                          { return s.txID }
func (s *Stub) GetChannelID() string                     { return "stubtest" }
func (s *Stub) GetCreator() ([]byte, error)              { return s.creator, nil }
func (s *Stub) GetTransient() (map[string][]byte, error) { return map[string][]byte{}, nil }
func (s *Stub) GetDecorations() map[string][]byte        { return nil }
func (s *Stub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return timestamppb.New(s.ts), nil
}
func (s *Stub) GetSignedProposal() (*peer.SignedProposal, error) {
	return nil, errors.New("stubtest: no signed proposal")
}

func checkKey(k string) error {
	if k == "" {
		return errors.New("stubtest: empty key")
	}
	return nil
}

// GetState returns committed state: Fabric gives no read-your-writes.
func (s *Stub) GetState(k string) ([]byte, error) {
	s.trips++
	return s.get(k)
}

func (s *Stub) get(k string) ([]byte, error) {
	if err := checkKey(k); err != nil {
		return nil, err
	}
	s.reads[k] = true
	v := s.l.state[k]
	if v == nil {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

// GetMultipleStates reads several keys at once, as GetState each.
func (s *Stub) GetMultipleStates(keys ...string) ([][]byte, error) {
	s.trips++
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.get(k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// StartWriteBatch and FinishWriteBatch are the shim's transport
// optimisation (writes sent to the peer together); writes here are local.
func (s *Stub) StartWriteBatch()        {}
func (s *Stub) FinishWriteBatch() error { return nil }

func (s *Stub) PutState(k string, v []byte) error {
	if err := checkKey(k); err != nil {
		return err
	}
	if v == nil {
		v = []byte{}
	}
	s.writes[k] = append([]byte(nil), v...)
	return nil
}

func (s *Stub) DelState(k string) error {
	if err := checkKey(k); err != nil {
		return err
	}
	s.writes[k] = nil
	return nil
}

func (s *Stub) SetEvent(name string, payload []byte) error {
	if name == "" {
		return errors.New("stubtest: empty event name")
	}
	s.event = &Event{Name: name, Payload: append([]byte(nil), payload...)}
	return nil
}

func (s *Stub) GetStateByRange(start, end string) (shim.StateQueryIteratorInterface, error) {
	if len(start) > 0 && start[0] == 0 || len(end) > 0 && end[0] == 0 {
		return nil, errors.New("stubtest: range over composite keys")
	}
	s.trips++
	var kvs []*queryresult.KV
	for i := sort.SearchStrings(s.l.keys, start); i < len(s.l.keys); i++ {
		k := s.l.keys[i]
		if end != "" && k >= end {
			break
		}
		kvs = append(kvs, &queryresult.KV{Namespace: "fedmeter", Key: k, Value: append([]byte(nil), s.l.state[k]...)})
		s.reads[k] = true
	}
	return &rangeIter{s: s, kvs: kvs}, nil
}

func (s *Stub) GetHistoryForKey(k string) (shim.HistoryQueryIteratorInterface, error) {
	s.trips += 2
	var mods []*queryresult.KeyModification
	for _, v := range s.l.history[k] {
		mods = append(mods, &queryresult.KeyModification{TxId: v.tx, Value: v.value, Timestamp: timestamppb.New(v.time), IsDelete: v.value == nil})
	}
	return &histIter{mods: mods}, nil
}

// rangeBatch is how many results Fabric's peer sends a range query in one
// message (the chaincode handler's maxResultLimit).
const rangeBatch = 100

type rangeIter struct {
	s   *Stub
	kvs []*queryresult.KV
	i   int
}

// HasNext counts the message the shim sends for the next batch.
func (it *rangeIter) HasNext() bool {
	if it.i > 0 && it.i%rangeBatch == 0 && it.i < len(it.kvs) {
		it.s.trips++
	}
	return it.i < len(it.kvs)
}

// Close counts the message the shim sends to close the iterator.
func (it *rangeIter) Close() error {
	it.s.trips++
	return nil
}

func (it *rangeIter) Next() (*queryresult.KV, error) {
	if it.i >= len(it.kvs) {
		return nil, errors.New("stubtest: iterator exhausted")
	}
	it.i++
	return it.kvs[it.i-1], nil
}

type histIter struct {
	mods []*queryresult.KeyModification
	i    int
}

func (it *histIter) HasNext() bool { return it.i < len(it.mods) }
func (it *histIter) Close() error  { return nil }
func (it *histIter) Next() (*queryresult.KeyModification, error) {
	if it.i >= len(it.mods) {
		return nil, errors.New("stubtest: iterator exhausted")
	}
	it.i++
	return it.mods[it.i-1], nil
}
