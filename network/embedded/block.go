package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Block is one committed transaction in the ledger's log. The embedded ledger
// puts exactly one transaction in each block (there is no ordering service to
// batch them), so block number == transaction sequence number.
//
// A block's hash is SHA-256 of its canonical encoding (see encode); each block
// carries its predecessor's hash, so editing, dropping or reordering any block
// breaks the chain, and the head hash is kept in the store's metadata.
type Block struct {
	Number      uint64
	PrevHash    [32]byte
	TxID        string
	Timestamp   time.Time // the transaction's timestamp (GetTxTimestamp)
	CreatorMSP  string
	CreatorHash [32]byte // SHA-256 of the serialized creator identity (see Ledger.Identity)
	Function    string
	ArgsHash    [32]byte // SHA-256 of the canonical encoding of function and args (see argsHash)
	// StateHash commits to the whole state after this block's writes: the
	// SHA-256 of the state's LtHash (see statehash.go). Open compares the
	// last block's with the state it finds (README.md, "Integrity on open").
	StateHash [32]byte
	Writes    []Write // sorted by key, one entry per key
	Events    []Event // at most one, as on Fabric
}

// Write is one entry of a block's write set: the key's new value, or its
// deletion.
type Write struct {
	Key      string
	Value    []byte // nil when IsDelete
	IsDelete bool
}

// Event is a chaincode event set by the transaction (stub.SetEvent).
type Event struct {
	Name    string
	Payload []byte
}

// blockFormat is the first byte of every encoded block. Bump it if the
// encoding changes; decode refuses versions it does not know.
const blockFormat byte = 2

const (
	writePut    byte = 0
	writeDelete byte = 1
)

// encode returns the canonical encoding: a version byte, then fixed-width
// big-endian integers, raw 32-byte hashes, and uvarint-length-prefixed
// strings/bytes, in the field order of Block. Writes must already be sorted
// by key with no duplicates (the stub guarantees it); decode enforces it, so
// each block has exactly one valid encoding.
func (b *Block) encode() []byte {
	n := 1 + 8 + 32 + 8 + 32 + 32 + 32 + 4*binary.MaxVarintLen64 + len(b.TxID) + len(b.CreatorMSP) + len(b.Function)
	for _, w := range b.Writes {
		n += 2*binary.MaxVarintLen64 + 1 + len(w.Key) + len(w.Value)
	}
	for _, e := range b.Events {
		n += 2*binary.MaxVarintLen64 + len(e.Name) + len(e.Payload)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, blockFormat)
	buf = binary.BigEndian.AppendUint64(buf, b.Number)
	buf = append(buf, b.PrevHash[:]...)
	buf = appendBytes(buf, []byte(b.TxID))
	buf = binary.BigEndian.AppendUint64(buf, uint64(b.Timestamp.UnixNano()))
	buf = appendBytes(buf, []byte(b.CreatorMSP))
	buf = append(buf, b.CreatorHash[:]...)
	buf = appendBytes(buf, []byte(b.Function))
	buf = append(buf, b.ArgsHash[:]...)
	buf = append(buf, b.StateHash[:]...)
	buf = binary.AppendUvarint(buf, uint64(len(b.Writes)))
	for _, w := range b.Writes {
		buf = appendBytes(buf, []byte(w.Key))
		if w.IsDelete {
			buf = append(buf, writeDelete)
		} else {
			buf = append(buf, writePut)
			buf = appendBytes(buf, w.Value)
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(b.Events)))
	for _, e := range b.Events {
		buf = appendBytes(buf, []byte(e.Name))
		buf = appendBytes(buf, e.Payload)
	}
	return buf
}

// Hash returns SHA-256 of the block's canonical encoding.
func (b *Block) Hash() [32]byte { return sha256.Sum256(b.encode()) }

func appendBytes(buf, p []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(p)))
	return append(buf, p...)
}

// decodeBlock parses an encoded block. It never panics on malformed input and
// rejects anything that is not the canonical encoding of some block.
func decodeBlock(p []byte) (*Block, error) {
	d := decoder{p: p}
	if v := d.byte(); d.err == nil && v != blockFormat {
		return nil, fmt.Errorf("unknown block format %d", v)
	}
	b := &Block{}
	b.Number = d.u64()
	d.hash(&b.PrevHash)
	b.TxID = string(d.bytes())
	b.Timestamp = time.Unix(0, int64(d.u64())).UTC()
	b.CreatorMSP = string(d.bytes())
	d.hash(&b.CreatorHash)
	b.Function = string(d.bytes())
	d.hash(&b.ArgsHash)
	d.hash(&b.StateHash)
	nw := d.count()
	if d.err == nil && nw > 0 {
		b.Writes = make([]Write, 0, nw)
	}
	for i := uint64(0); i < nw && d.err == nil; i++ {
		w := Write{Key: string(d.bytes())}
		switch kind := d.byte(); kind {
		case writePut:
			w.Value = d.bytes()
			if d.err == nil && len(w.Value) == 0 {
				d.fail("write %q: empty value (an empty value is a delete)", w.Key)
			}
		case writeDelete:
			w.IsDelete = true
		default:
			d.fail("write %q: unknown kind %d", w.Key, kind)
		}
		if d.err == nil && i > 0 && b.Writes[i-1].Key >= w.Key {
			d.fail("write set not strictly sorted at %q", w.Key)
		}
		b.Writes = append(b.Writes, w)
	}
	ne := d.count()
	for i := uint64(0); i < ne && d.err == nil; i++ {
		b.Events = append(b.Events, Event{Name: string(d.bytes()), Payload: d.bytes()})
	}
	if d.err == nil && len(d.p) != 0 {
		d.fail("%d trailing bytes", len(d.p))
	}
	if d.err != nil {
		return nil, d.err
	}
	if !utf8.ValidString(b.TxID) || !utf8.ValidString(b.CreatorMSP) {
		return nil, errors.New("non-UTF-8 tx ID or MSP ID")
	}
	return b, nil
}

type decoder struct {
	p   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if uint64(len(d.p)) < n {
		d.fail("truncated: need %d bytes, have %d", n, len(d.p))
		return nil
	}
	out := d.p[:n:n]
	d.p = d.p[n:]
	return out
}

func (d *decoder) byte() byte {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) u64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (d *decoder) hash(h *[32]byte) {
	if b := d.take(32); b != nil {
		copy(h[:], b)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.p = d.p[n:]
	return v
}

// count reads an element count and rejects counts that could not fit in the
// remaining bytes (each element takes at least one byte), so a corrupted
// count cannot cause a huge allocation.
func (d *decoder) count() uint64 {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.p)) {
		d.fail("count %d exceeds remaining %d bytes", n, len(d.p))
		return 0
	}
	return n
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	b := d.take(n)
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

// argsHash is SHA-256 over uvarint-length-prefixed function name and args:
// unambiguous (no two argument lists share an encoding).
func argsHash(fn string, args []string) [32]byte {
	h := sha256.New()
	var lb [binary.MaxVarintLen64]byte
	write := func(s string) {
		n := binary.PutUvarint(lb[:], uint64(len(s)))
		h.Write(lb[:n])
		h.Write([]byte(s))
	}
	write(fn)
	for _, a := range args {
		write(a)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
