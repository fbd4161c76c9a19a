package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Key-space markers, the same values the shim uses (shim/shim.go).
const (
	compositeKeyNamespace = "\x00"
	emptyKeySubstitute    = "\x01"
	maxUnicodeRune        = utf8.MaxRune
	// maxKeyLen keeps a key plus the history-key overhead under bbolt's
	// MaxKeySize (32768).
	maxKeyLen = bolt.MaxKeySize - 32
)

// stub implements shim.ChaincodeStubInterface for one transaction. Reads go to
// the bbolt transaction it was created on (committed state, plus the writes
// of earlier transactions of the same group commit); writes are buffered in
// the stub and become the block's write set, so - as on Fabric - a
// transaction never reads its own writes.
type stub struct {
	l       *Ledger
	tx      *bolt.Tx
	state   *bolt.Bucket
	txID    string
	nonce   []byte
	creator []byte
	id      *msp.Identity
	args    [][]byte
	ts      *timestamppb.Timestamp

	writes map[string][]byte // nil value = delete
	event  *Event
	reads  *ReadSet // what the transaction read, when traced

	// Fabric's simulator refuses to mix paginated queries and writes in one
	// transaction; so does this stub, so a contract that works here works there.
	wrote, paginated bool

	done   bool // set when the invocation returns; iterators stop working
	signed *peer.SignedProposal
}

var _ shim.ChaincodeStubInterface = (*stub)(nil)

// execute runs the contract for req on tx with timestamp ts (unix nanos). A
// panic in the contract becomes a status-500 response, never a crash of the
// ledger.
func (l *Ledger) execute(tx *bolt.Tx, req *request, ts int64) (st *stub, resp *peer.Response) {
	args := make([][]byte, 0, 1+len(req.args))
	args = append(args, []byte(req.fn))
	for _, a := range req.args {
		args = append(args, []byte(a))
	}
	nonce := l.nextNonce()
	st = &stub{
		l:       l,
		tx:      tx,
		state:   tx.Bucket(bktState),
		txID:    computeTxID(nonce, req.creator),
		nonce:   nonce,
		creator: req.creator,
		id:      req.id,
		args:    args,
		ts:      &timestamppb.Timestamp{Seconds: ts / 1e9, Nanos: int32(ts % 1e9)},
		writes:  map[string][]byte{},
		reads:   req.reads,
	}
	defer func() {
		st.done = true
		if r := recover(); r != nil {
			resp = &peer.Response{Status: shim.ERROR, Message: fmt.Sprintf("chaincode panic: %v\n%s", r, debug.Stack())}
		}
		if resp == nil {
			resp = &peer.Response{Status: shim.ERROR, Message: "chaincode returned a nil response"}
		}
	}()
	return st, l.cc.Invoke(st)
}

// writeSet returns the buffered writes sorted by key: the block's write set.
func (s *stub) writeSet() []Write {
	keys := make([]string, 0, len(s.writes))
	for k := range s.writes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ws := make([]Write, len(keys))
	for i, k := range keys {
		v := s.writes[k]
		ws[i] = Write{Key: k, Value: v, IsDelete: v == nil}
	}
	return ws
}

func (s *stub) checkLive() error {
	if s.done {
		return errors.New("embedded: stub used after its transaction ended")
	}
	return nil
}

// ---- arguments, identity, metadata ----

func (s *stub) GetArgs() [][]byte { return s.args }

func (s *stub) GetStringArgs() []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		out[i] = string(a)
	}
	return out
}

func (s *stub) GetFunctionAndParameters() (string, []string) {
	all := s.GetStringArgs()
	if len(all) == 0 {
		return "", []string{}
	}
	return all[0], all[1:]
}

func (s *stub) GetArgsSlice() ([]byte, error) {
	var out []byte
	for _, a := range s.args {
		out = append(out, a...)
	}
	return out, nil
}

func (s *stub) GetTxID() string      { return s.txID }
func (s *stub) GetChannelID() string { return s.l.channelID }

// GetCreator returns the protobuf msp.SerializedIdentity of the submitter
// (MSP ID + PEM certificate), as on Fabric; cid.New works on it unchanged.
func (s *stub) GetCreator() ([]byte, error) { return s.creator, nil }

// GetTransient returns an empty map: the embedded ledger has no transient
// data channel (there is no gossip to keep secrets out of).
func (s *stub) GetTransient() (map[string][]byte, error) { return map[string][]byte{}, nil }

// GetBinding computes the proposal binding as the shim does:
// SHA-256(nonce || creator || epoch as 8 bytes little-endian), epoch 0.
func (s *stub) GetBinding() ([]byte, error) {
	h := sha256.New()
	h.Write(s.nonce)
	h.Write(s.creator)
	h.Write(make([]byte, 8))
	return h.Sum(nil), nil
}

func (s *stub) GetDecorations() map[string][]byte { return map[string][]byte{} }

// GetSignedProposal builds, on first call, a real endorser-transaction
// proposal (channel header with this tx's ID, timestamp, channel and
// chaincode; signature header with the creator and nonce, so the tx ID
// verifies as SHA-256(nonce||creator); the invocation args) signed by the
// submitting identity's key. It fails if the identity has no private key.
func (s *stub) GetSignedProposal() (*peer.SignedProposal, error) {
	if s.signed != nil {
		return s.signed, nil
	}
	m := proto.MarshalOptions{Deterministic: true}
	ccID := &peer.ChaincodeID{Name: s.l.ccName}
	ext, err := m.Marshal(&peer.ChaincodeHeaderExtension{ChaincodeId: ccID})
	if err != nil {
		return nil, fmt.Errorf("embedded: proposal: %w", err)
	}
	chdr, err := m.Marshal(&common.ChannelHeader{
		Type: int32(common.HeaderType_ENDORSER_TRANSACTION), Timestamp: s.ts,
		ChannelId: s.l.channelID, TxId: s.txID, Extension: ext,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: proposal: %w", err)
	}
	shdr, err := m.Marshal(&common.SignatureHeader{Creator: s.creator, Nonce: s.nonce})
	if err != nil {
		return nil, fmt.Errorf("embedded: proposal: %w", err)
	}
	hdr, err := m.Marshal(&common.Header{ChannelHeader: chdr, SignatureHeader: shdr})
	if err != nil {
		return nil, fmt.Errorf("embedded: proposal: %w", err)
	}
	cis, err := m.Marshal(&peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{
		Type: peer.ChaincodeSpec_GOLANG, ChaincodeId: ccID, Input: &peer.ChaincodeInput{Args: s.args},
	}})
	if err != nil {
		return nil, fmt.Errorf("embedded: proposal: %w", err)
	}
	payload, err := m.Marshal(&peer.ChaincodeProposalPayload{Input: cis})
	if err != nil {
		return nil, fmt.Errorf("embedded: proposal: %w", err)
	}
	prop, err := m.Marshal(&peer.Proposal{Header: hdr, Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("embedded: proposal: %w", err)
	}
	sig, err := s.id.Sign(prop)
	if err != nil {
		return nil, fmt.Errorf("embedded: sign proposal: %w", err)
	}
	s.signed = &peer.SignedProposal{ProposalBytes: prop, Signature: sig}
	return s.signed, nil
}

// GetTxTimestamp returns the timestamp taken once when the transaction
// started executing (the ledger clock, non-decreasing across transactions).
func (s *stub) GetTxTimestamp() (*timestamppb.Timestamp, error) {
	return &timestamppb.Timestamp{Seconds: s.ts.Seconds, Nanos: s.ts.Nanos}, nil
}

// SetEvent sets the transaction's event. As on Fabric a transaction carries
// at most one event: a later call replaces the earlier one.
func (s *stub) SetEvent(name string, payload []byte) error {
	if name == "" {
		return errors.New("event name can not be empty string")
	}
	s.event = &Event{Name: name, Payload: bytes.Clone(payload)}
	return nil
}

// ---- state ----

func (s *stub) get(key string) []byte {
	v := s.state.Get([]byte(key))
	s.reads.key(key, v)
	if v == nil {
		return nil
	}
	return bytes.Clone(v)
}

// GetState returns the committed value of key (nil if absent). As on Fabric,
// the transaction's own PutState/DelState are not visible.
func (s *stub) GetState(key string) ([]byte, error) {
	if err := s.checkLive(); err != nil {
		return nil, err
	}
	return s.get(key), nil
}

func (s *stub) GetMultipleStates(keys ...string) ([][]byte, error) {
	if err := s.checkLive(); err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = s.get(k)
	}
	return out, nil
}

func (s *stub) checkWrite(key string) error {
	if err := s.checkLive(); err != nil {
		return err
	}
	if key == "" {
		return errors.New("key must not be an empty string")
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("key too long: %d bytes (max %d)", len(key), maxKeyLen)
	}
	// Fabric's CouchDB state database rejects non-UTF-8 keys; refusing them
	// here keeps a contract portable to either state database.
	if !utf8.ValidString(key) {
		return fmt.Errorf("invalid key %q: must be valid UTF-8", key)
	}
	if s.paginated {
		return errors.New("write operations are not allowed in a transaction that performed paginated queries (Fabric refuses this too)")
	}
	return nil
}

// PutState buffers a write. As on Fabric, an empty value is a delete.
func (s *stub) PutState(key string, value []byte) error {
	if err := s.checkWrite(key); err != nil {
		return err
	}
	s.wrote = true
	if len(value) == 0 {
		s.writes[key] = nil
	} else {
		s.writes[key] = bytes.Clone(value)
	}
	return nil
}

func (s *stub) DelState(key string) error {
	if err := s.checkWrite(key); err != nil {
		return err
	}
	s.wrote = true
	s.writes[key] = nil
	return nil
}

// StartWriteBatch and FinishWriteBatch are a transport optimisation in the
// shim (fewer gRPC messages); writes here are already local, so they are
// no-ops.
func (s *stub) StartWriteBatch()        {}
func (s *stub) FinishWriteBatch() error { return nil }

// ---- range and composite-key queries ----

func validateSimpleKeys(keys ...string) error {
	for _, k := range keys {
		if len(k) > 0 && k[0] == compositeKeyNamespace[0] {
			return fmt.Errorf(`first character of the key [%s] contains a null character which is not allowed`, k)
		}
	}
	return nil
}

// GetStateByRange iterates committed keys in [startKey, endKey) in byte
// order; "" as startKey means the first simple key, "" as endKey no bound.
// Composite keys are outside simple-key ranges, as on Fabric.
func (s *stub) GetStateByRange(startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	if err := s.checkLive(); err != nil {
		return nil, err
	}
	if startKey == "" {
		startKey = emptyKeySubstitute
	}
	if err := validateSimpleKeys(startKey, endKey); err != nil {
		return nil, err
	}
	return s.rangeIter(startKey, endKey), nil
}

func (s *stub) GetStateByRangeWithPagination(startKey, endKey string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if startKey == "" {
		startKey = emptyKeySubstitute
	}
	if err := validateSimpleKeys(startKey, endKey); err != nil {
		return nil, nil, err
	}
	return s.page(startKey, endKey, pageSize, bookmark)
}

func partialCompositeRange(objectType string, attrs []string) (string, string, error) {
	start, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return "", "", err
	}
	return start, start + string(maxUnicodeRune), nil
}

func (s *stub) GetStateByPartialCompositeKey(objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	if err := s.checkLive(); err != nil {
		return nil, err
	}
	start, end, err := partialCompositeRange(objectType, keys)
	if err != nil {
		return nil, err
	}
	return s.rangeIter(start, end), nil
}

func (s *stub) GetStateByPartialCompositeKeyWithPagination(objectType string, keys []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	start, end, err := partialCompositeRange(objectType, keys)
	if err != nil {
		return nil, nil, err
	}
	return s.page(start, end, pageSize, bookmark)
}

func (s *stub) GetAllStatesCompositeKeyWithPagination(pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	return s.page(compositeKeyNamespace, compositeKeyNamespace+string(maxUnicodeRune), pageSize, bookmark)
}

// page returns up to pageSize results from [start, end) beginning at
// bookmark (when non-empty). As on Fabric, the returned bookmark is the next
// key to read, or "" when the range is exhausted; pageSize <= 0 means no
// limit. Paginated queries may not be mixed with writes (Fabric rule).
func (s *stub) page(start, end string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	if err := s.checkLive(); err != nil {
		return nil, nil, err
	}
	if s.wrote {
		return nil, nil, errors.New("paginated queries are not allowed in a transaction that writes (Fabric refuses this too)")
	}
	s.paginated = true
	if bookmark != "" {
		if bookmark < start || (end != "" && bookmark >= end) {
			return nil, nil, fmt.Errorf("invalid bookmark %q: outside the queried range", bookmark)
		}
		start = bookmark
	}
	it := s.rangeIter(start, end)
	var kvs []*queryresult.KV
	for it.HasNext() && (pageSize <= 0 || len(kvs) < int(pageSize)) {
		kv, err := it.Next()
		if err != nil {
			return nil, nil, err
		}
		kvs = append(kvs, kv)
	}
	next := ""
	if it.HasNext() {
		next = string(it.k)
	}
	return &sliceIter[*queryresult.KV]{items: kvs, s: s},
		&peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(kvs)), Bookmark: next}, nil
}

func (s *stub) rangeIter(start, end string) *cursorIter {
	it := &cursorIter{s: s, c: s.state.Cursor()}
	if end != "" {
		it.end = []byte(end)
	}
	it.k, it.v = it.c.Seek([]byte(start))
	return it
}

// cursorIter streams a key range straight from the bbolt cursor, so large
// ranges cost no memory up front.
type cursorIter struct {
	s      *stub
	c      *bolt.Cursor
	k, v   []byte
	end    []byte // nil: unbounded
	closed bool
}

func (it *cursorIter) HasNext() bool {
	if it.closed || it.s.done || it.k == nil {
		return false
	}
	return it.end == nil || bytes.Compare(it.k, it.end) < 0
}

func (it *cursorIter) Next() (*queryresult.KV, error) {
	if !it.HasNext() {
		return nil, errors.New("no more results")
	}
	kv := &queryresult.KV{Namespace: it.s.l.ccName, Key: string(it.k), Value: bytes.Clone(it.v)}
	it.s.reads.key(kv.Key, kv.Value)
	it.k, it.v = it.c.Next()
	return kv, nil
}

func (it *cursorIter) Close() error { it.closed = true; return nil }

// sliceIter iterates precomputed results (a page, a key's history).
type sliceIter[T any] struct {
	s      *stub
	items  []T
	pos    int
	closed bool
}

func (it *sliceIter[T]) HasNext() bool {
	return !it.closed && !it.s.done && it.pos < len(it.items)
}

func (it *sliceIter[T]) Next() (T, error) {
	var zero T
	if !it.HasNext() {
		return zero, errors.New("no more results")
	}
	it.pos++
	return it.items[it.pos-1], nil
}

func (it *sliceIter[T]) Close() error { it.closed = true; return nil }

func (s *stub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

// SplitCompositeKey is the shim's algorithm, but returns an error instead of
// panicking on a string that is not a composite key.
func (s *stub) SplitCompositeKey(compositeKey string) (string, []string, error) {
	return splitCompositeKey(compositeKey)
}

func splitCompositeKey(ck string) (string, []string, error) {
	if len(ck) == 0 || ck[0] != compositeKeyNamespace[0] {
		return "", nil, fmt.Errorf("not a composite key: %q", ck)
	}
	var parts []string
	from := 1
	for i := 1; i < len(ck); i++ {
		if ck[i] == 0 {
			parts = append(parts, ck[from:i])
			from = i + 1
		}
	}
	if len(parts) == 0 || from != len(ck) {
		return "", nil, fmt.Errorf("malformed composite key: %q", ck)
	}
	return parts[0], parts[1:], nil
}

// ---- history ----

// GetHistoryForKey returns the key's committed modifications newest first
// (Fabric v2 order), each with its tx ID, timestamp and value or delete mark.
func (s *stub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	if err := s.checkLive(); err != nil {
		return nil, err
	}
	entries, err := historyFor(s.tx, key)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		s.reads.block(e.Block)
	}
	mods := make([]*queryresult.KeyModification, len(entries))
	for i, e := range entries {
		mods[i] = &queryresult.KeyModification{
			TxId: e.TxID, Value: e.Value, IsDelete: e.IsDelete, Timestamp: timestamppb.New(e.Timestamp),
		}
	}
	return &sliceIter[*queryresult.KeyModification]{items: mods, s: s}, nil
}

// HistoryEntry is one committed modification of a key.
type HistoryEntry struct {
	Block     uint64
	TxID      string
	Timestamp time.Time
	Value     []byte // nil when IsDelete
	IsDelete  bool
}

// historyFor lists key's modifications newest first, reading each from its
// block (the history bucket only records which blocks wrote the key).
func historyFor(tx *bolt.Tx, key string) ([]HistoryEntry, error) {
	prefix := historyPrefix(nil, key)
	c := tx.Bucket(bktHistory).Cursor()
	blocks := tx.Bucket(bktBlocks)
	var out []HistoryEntry
	// Position after the last entry of this key, then walk backwards.
	k, _ := c.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), ^uint64(0)))
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		k, _ = c.Prev()
	}
	for ; k != nil && len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		num := binary.BigEndian.Uint64(k[len(prefix):])
		raw := blocks.Get(k[len(prefix):])
		if raw == nil {
			return nil, fmt.Errorf("history of %q: block %d missing", key, num)
		}
		blk, err := decodeBlock(raw)
		if err != nil {
			return nil, fmt.Errorf("history of %q: block %d: %w", key, num, err)
		}
		i, found := slices.BinarySearchFunc(blk.Writes, key, func(w Write, k string) int { return compareStrings(w.Key, k) })
		if !found {
			return nil, fmt.Errorf("history of %q: block %d does not write the key", key, num)
		}
		w := blk.Writes[i]
		out = append(out, HistoryEntry{Block: num, TxID: blk.TxID, Timestamp: blk.Timestamp, Value: w.Value, IsDelete: w.IsDelete})
	}
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- unsupported on the embedded ledger ----

func unsupported(what string) error { return fmt.Errorf("%s: %w", what, ErrNotSupported) }

// InvokeChaincode is not supported: the embedded ledger hosts one contract.
func (s *stub) InvokeChaincode(chaincodeName string, args [][]byte, channel string) *peer.Response {
	return &peer.Response{Status: shim.ERROR, Message: unsupported("InvokeChaincode").Error()}
}

// GetQueryResult (CouchDB rich queries) is not supported: use composite keys.
func (s *stub) GetQueryResult(query string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("GetQueryResult (rich queries)")
}

func (s *stub) GetQueryResultWithPagination(query string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	return nil, nil, unsupported("GetQueryResultWithPagination (rich queries)")
}

// State-based endorsement has no meaning with a single endorser.
func (s *stub) SetStateValidationParameter(key string, ep []byte) error {
	return unsupported("SetStateValidationParameter")
}

func (s *stub) GetStateValidationParameter(key string) ([]byte, error) {
	return nil, unsupported("GetStateValidationParameter")
}

// Private data collections are not supported: one process has no one to keep
// data private from; on Fabric, fedmeter uses per-pair channels instead.
func (s *stub) GetPrivateData(collection, key string) ([]byte, error) {
	return nil, unsupported("GetPrivateData")
}

func (s *stub) GetMultiplePrivateData(collection string, keys ...string) ([][]byte, error) {
	return nil, unsupported("GetMultiplePrivateData")
}

func (s *stub) GetPrivateDataHash(collection, key string) ([]byte, error) {
	return nil, unsupported("GetPrivateDataHash")
}

func (s *stub) PutPrivateData(collection, key string, value []byte) error {
	return unsupported("PutPrivateData")
}

func (s *stub) DelPrivateData(collection, key string) error {
	return unsupported("DelPrivateData")
}

func (s *stub) PurgePrivateData(collection, key string) error {
	return unsupported("PurgePrivateData")
}

func (s *stub) SetPrivateDataValidationParameter(collection, key string, ep []byte) error {
	return unsupported("SetPrivateDataValidationParameter")
}

func (s *stub) GetPrivateDataValidationParameter(collection, key string) ([]byte, error) {
	return nil, unsupported("GetPrivateDataValidationParameter")
}

func (s *stub) GetPrivateDataByRange(collection, startKey, endKey string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("GetPrivateDataByRange")
}

func (s *stub) GetPrivateDataByPartialCompositeKey(collection, objectType string, keys []string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("GetPrivateDataByPartialCompositeKey")
}

func (s *stub) GetPrivateDataQueryResult(collection, query string) (shim.StateQueryIteratorInterface, error) {
	return nil, unsupported("GetPrivateDataQueryResult")
}
