package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// ReadSet collects what traced queries read (EvaluateReads): each state
// key with its value as read (nil: absent), and the blocks that history
// queries read. Safe for concurrent use; the zero value is not usable, use
// NewReadSet.
type ReadSet struct {
	mu     sync.Mutex
	keys   map[string][]byte
	blocks map[uint64]bool
}

// NewReadSet returns an empty ReadSet.
func NewReadSet() *ReadSet { return &ReadSet{keys: map[string][]byte{}, blocks: map[uint64]bool{}} }

func (r *ReadSet) key(k string, v []byte) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.keys[k] = bytes.Clone(v)
	r.mu.Unlock()
}

func (r *ReadSet) block(n uint64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.blocks[n] = true
	r.mu.Unlock()
}

// Len is the number of keys read.
func (r *ReadSet) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys)
}

// Proof is what Prove established.
type Proof struct {
	Keys   int      // keys read that hold a value, each matched to the block that last wrote it
	Absent int      // keys read that were absent (a block's delete, or never written)
	From   uint64   // the first block checked
	Height uint64   // the chain's height (blocks From..Height-1 were checked)
	Head   [32]byte // the head hash they chain to
}

// ProofError says which read the log does not back.
type ProofError struct {
	Key    string // the state key at fault, if any
	Block  int64  // the block at fault, or -1
	Reason string
}

func (e *ProofError) Error() string {
	s := ""
	if e.Block >= 0 {
		s = fmt.Sprintf("block %d: ", e.Block)
	}
	if e.Key != "" {
		s += fmt.Sprintf("key %q: ", e.Key)
	}
	return s + e.Reason
}

// Prove checks that everything rs read is backed by the hash-chained log
// up to the head: for each key read with a value, the block that last wrote
// the key wrote exactly that value, and every block from the earliest such
// block (or history block read) to the last is intact and chains, hash by
// hash, to the head recorded in the metadata. If head is not nil, the
// recorded head must also equal it (a hash kept elsewhere, e.g. printed by
// ledger verify), which proves the log was not rewritten wholesale.
//
// It reads blocks From..Height-1 in one snapshot: its cost is the size of
// the log since the oldest data read. A *ProofError names the first fault.
func (l *Ledger) Prove(rs *ReadSet, head *[32]byte) (*Proof, error) {
	rs.mu.Lock()
	keys := make(map[string][]byte, len(rs.keys))
	for k, v := range rs.keys {
		keys[k] = v
	}
	hblocks := make([]uint64, 0, len(rs.blocks))
	for n := range rs.blocks {
		hblocks = append(hblocks, n)
	}
	rs.mu.Unlock()
	var p *Proof
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		p, err = prove(tx, keys, hblocks, head)
		return err
	})
	return p, err
}

func prove(tx *bolt.Tx, keys map[string][]byte, hblocks []uint64, pin *[32]byte) (*Proof, error) {
	height, tip, _, err := readHead(tx.Bucket(bktMeta))
	if err != nil {
		return nil, &ProofError{Block: -1, Reason: "metadata: " + err.Error()}
	}
	if pin != nil && *pin != tip {
		return nil, &ProofError{Block: -1, Reason: fmt.Sprintf("the ledger's head is %s, not the pinned %s (the log was rewritten, or the pin is of another ledger or an older head: a later head extends it only if ledger verify passes)",
			hex.EncodeToString(tip[:]), hex.EncodeToString(pin[:]))}
	}
	p := &Proof{Height: height, Head: tip, From: height}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	hist := tx.Bucket(bktHistory).Cursor()
	for _, k := range names {
		if keys[k] == nil {
			p.Absent++
			continue
		}
		p.Keys++
		prefix := historyPrefix(nil, k)
		hk, _ := hist.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), ^uint64(0)))
		if hk == nil {
			hk, _ = hist.Last()
		} else if !bytes.HasPrefix(hk, prefix) || len(hk) != len(prefix)+8 {
			hk, _ = hist.Prev()
		}
		if hk == nil || len(hk) != len(prefix)+8 || !bytes.HasPrefix(hk, prefix) {
			return nil, &ProofError{Key: k, Block: -1, Reason: "no block of the log wrote the value read (state altered outside the ledger)"}
		}
		if n := binary.BigEndian.Uint64(hk[len(prefix):]); n < p.From {
			p.From = n
		}
	}
	for _, n := range hblocks {
		if n < p.From {
			p.From = n
		}
	}
	last := map[string]*Write{}
	blocks := tx.Bucket(bktBlocks)
	var prevHash [32]byte
	for n := p.From; n < height; n++ {
		raw := blocks.Get(binary.BigEndian.AppendUint64(nil, n))
		if raw == nil {
			return nil, &ProofError{Block: int64(n), Reason: "missing"}
		}
		blk, err := decodeBlock(raw)
		if err != nil {
			return nil, &ProofError{Block: int64(n), Reason: "corrupt: " + err.Error()}
		}
		if blk.Number != n {
			return nil, &ProofError{Block: int64(n), Reason: fmt.Sprintf("says it is block %d", blk.Number)}
		}
		if n > p.From && blk.PrevHash != prevHash {
			return nil, &ProofError{Block: int64(n - 1), Reason: fmt.Sprintf("its hash is not the one block %d records (block %d altered)", n, n-1)}
		}
		prevHash = sha256.Sum256(raw)
		for i := range blk.Writes {
			if _, ok := keys[blk.Writes[i].Key]; ok {
				last[blk.Writes[i].Key] = &blk.Writes[i]
			}
		}
	}
	if height > p.From && prevHash != tip {
		return nil, &ProofError{Block: int64(height - 1), Reason: "its hash is not the head recorded in the metadata (block altered)"}
	}
	for _, k := range names {
		v := keys[k]
		if v == nil {
			continue
		}
		w := last[k]
		switch {
		case w == nil:
			return nil, &ProofError{Key: k, Block: -1, Reason: fmt.Sprintf("no block from %d on wrote the value read (history or state altered)", p.From)}
		case w.IsDelete:
			return nil, &ProofError{Key: k, Block: -1, Reason: "the log's last write deletes it, but a value was read (state altered outside the ledger)"}
		case !bytes.Equal(w.Value, v):
			return nil, &ProofError{Key: k, Block: -1, Reason: "the value read is not the one the log last wrote (state altered outside the ledger, or changed since it was read)"}
		}
	}
	return p, nil
}
