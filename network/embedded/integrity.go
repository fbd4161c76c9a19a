package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check returns what Open found wrong with the store (an *IntegrityError,
// wrapping ErrTampered), or nil. While it is not nil, Submit and Evaluate
// return it: an altered store is neither appended to nor served.
func (l *Ledger) Check() error { return l.integrity }

// check is Open's integrity check, in one read snapshot (l.height, l.tip
// and l.lanes were just loaded from the same snapshot's metadata):
//
//   - the last block is stored under the head's number, nothing after it,
//     and its hash is the head recorded in the metadata;
//   - the state hash it records is the one the metadata holds;
//   - each key it wrote still holds what it wrote (the names the key at
//     fault when the last transaction's writes were edited);
//   - the LtHash of the whole state (and config) is the one recorded.
//
// The last point reads every state entry once: O(state), measured in
// README.md ("Integrity on open"). It proves the state is the one the last
// block committed to; Verify (ledger verify) checks the whole chain.
func (l *Ledger) check(tx *bolt.Tx) error {
	l.integrity = nil
	fail := func(format string, args ...any) error {
		l.integrity = &IntegrityError{Reason: fmt.Sprintf(format, args...)}
		return nil
	}
	blocks := tx.Bucket(bktBlocks)
	if l.height == 0 {
		if l.tip != ([32]byte{}) {
			return fail("the metadata records no block but a non-zero head hash")
		}
		if k, _ := blocks.Cursor().First(); k != nil {
			return fail("the metadata records no block but blocks are stored")
		}
	} else {
		last := l.height - 1
		raw := blocks.Get(binary.BigEndian.AppendUint64(nil, last))
		if raw == nil {
			return fail("the last block, %d, is missing", last)
		}
		if k, _ := blocks.Cursor().Last(); !bytes.Equal(k, binary.BigEndian.AppendUint64(nil, last)) {
			return fail("blocks are stored past the head (block %d)", last)
		}
		if sha256.Sum256(raw) != l.tip {
			return fail("block %d's hash is not the head hash recorded in the metadata (the block or the metadata was edited)", last)
		}
		blk, err := decodeBlock(raw)
		if err != nil {
			return fail("block %d is corrupt: %v", last, err)
		}
		if blk.Number != last {
			return fail("block %d says it is block %d", last, blk.Number)
		}
		if blk.StateHash != l.lanes.sum() {
			return fail("the state hash in the metadata is not the one block %d records", last)
		}
		for _, w := range blk.Writes {
			bkt, key := tx.Bucket(bktState), []byte(w.Key)
			if isConfigKey(w.Key) {
				bkt = tx.Bucket(bktConfig)
			}
			v := bkt.Get(key)
			if w.IsDelete && v != nil || !w.IsDelete && !bytes.Equal(v, w.Value) {
				return fail("state key %q is not what block %d, the last, wrote", w.Key, last)
			}
		}
	}
	if c := l.since; c != nil && c.height == l.height && c.tip == l.tip && c.lanes == l.lanes {
		return nil // the state this process committed or checked last
	}
	h, n, err := scanState(tx)
	if err != nil {
		return err
	}
	if *h != l.lanes {
		if l.height == 0 {
			return fail("the state holds %d entries but no block wrote any", n)
		}
		return fail("the state (%d entries) is not the state block %d committed to: a value was changed, added or removed outside the ledger", n, l.height-1)
	}
	return nil
}
