package embedded

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// VerifyError describes the first inconsistency Verify found.
type VerifyError struct {
	Block  int64  // the block at fault, or -1 when the fault is not in a block
	Bucket string // the store bucket holding the bad record
	Key    string // the state/history/index key involved, if any
	Reason string
}

func (e *VerifyError) Error() string {
	s := "embedded: verify: "
	if e.Block >= 0 {
		s += fmt.Sprintf("block %d: ", e.Block)
	}
	if e.Key != "" {
		s += fmt.Sprintf("%s key %q: ", e.Bucket, e.Key)
	} else if e.Block < 0 && e.Bucket != "" {
		s += e.Bucket + ": "
	}
	return s + e.Reason
}

func verr(block int64, bucket, key, format string, args ...any) *VerifyError {
	return &VerifyError{Block: block, Bucket: bucket, Key: key, Reason: fmt.Sprintf(format, args...)}
}

// Verify checks the store against its own log, in one consistent snapshot
// (it may run while transactions are being submitted):
//
//   - blocks are numbered 0..height-1 with no gaps, each decodes canonically
//     and carries its own number and its predecessor's hash, and the last
//     one's hash is the head recorded in the metadata;
//   - replaying the blocks' write sets yields exactly the state bucket;
//   - the history index lists exactly the (key, block) pairs of the log;
//   - the tx-ID index maps exactly the log's tx IDs to their blocks, with no
//     duplicate tx ID; every creator identity is stored under its hash.
//
// So any edited, dropped, inserted or reordered block, or state/index record
// changed behind the ledger's back, is reported as a *VerifyError naming the
// first bad block or record. Verify holds the replayed state in memory.
func (l *Ledger) Verify() error {
	return l.view(verifyTx)
}

func verifyTx(tx *bolt.Tx) error {
	height, head, _, err := readHead(tx.Bucket(bktMeta))
	if err != nil {
		return verr(-1, "meta", "", "%v", err)
	}

	state := map[string][]byte{}
	history := map[string]struct{}{} // string(historyKey) expected
	txids := map[string]uint64{}
	creators := map[[32]byte]uint64{} // creator hash -> first block using it
	var prev [32]byte
	var n uint64
	var lanes ltHash
	badState := int64(-1)
	c := tx.Bucket(bktBlocks).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return verr(int64(n), "blocks", string(k), "malformed block key (want 8 bytes)")
		}
		if num := binary.BigEndian.Uint64(k); num != n {
			return verr(int64(n), "blocks", "", "missing: the next stored block is %d (blocks dropped)", num)
		}
		blk, err := decodeBlock(v)
		if err != nil {
			return verr(int64(n), "blocks", "", "corrupt record: %v", err)
		}
		if blk.Number != n {
			return verr(int64(n), "blocks", "", "record says it is block %d (blocks reordered or moved)", blk.Number)
		}
		if blk.PrevHash != prev {
			if n == 0 {
				return verr(0, "blocks", "", "first block has a non-zero previous hash (blocks dropped at the start?)")
			}
			return verr(int64(n-1), "blocks", "", "hash does not match the previous hash recorded in block %d (block %d altered, or blocks reordered/dropped)", n, n-1)
		}
		if first, dup := txids[blk.TxID]; dup {
			return verr(int64(n), "blocks", "", "tx ID %s already used by block %d", blk.TxID, first)
		}
		txids[blk.TxID] = n
		if _, ok := creators[blk.CreatorHash]; !ok {
			creators[blk.CreatorHash] = n
		}
		for _, w := range blk.Writes {
			if old, ok := state[w.Key]; ok {
				lanes.sub(w.Key, old)
			}
			if w.IsDelete {
				delete(state, w.Key)
			} else {
				state[w.Key] = w.Value
				lanes.add(w.Key, w.Value)
			}
			history[string(historyKey(w.Key, n))] = struct{}{}
		}
		if blk.StateHash != lanes.sum() && badState < 0 {
			badState = int64(n) // reported once the chain is known intact
		}
		prev = sha256.Sum256(v)
		n++
	}
	if n != height {
		return verr(int64(n), "meta", "", "metadata height is %d but the log has %d blocks (blocks dropped at the end, or metadata altered)", height, n)
	}
	if prev != head {
		if n == 0 {
			return verr(-1, "meta", "", "empty log but non-zero head hash")
		}
		return verr(int64(n-1), "blocks", "", "hash does not match the head hash in metadata (last block altered, or metadata altered)")
	}

	if badState >= 0 {
		return verr(badState, "blocks", "", "records a state hash its writes do not produce (block altered and re-hashed)")
	}
	var meta ltHash
	if err := meta.setBytes(tx.Bucket(bktMeta).Get(metaStateHash)); err != nil || meta != lanes {
		return verr(-1, "meta", "", "the state hash in the metadata is not the log's")
	}
	config := map[string][]byte{}
	for k, v := range state {
		if isConfigKey(k) {
			config[k] = v
			delete(state, k)
		}
	}
	if err := verifyState(tx.Bucket(bktState), state, "state"); err != nil {
		return err
	}
	if err := verifyState(tx.Bucket(bktConfig), config, "config"); err != nil {
		return err
	}
	if err := verifyHistory(tx.Bucket(bktHistory), history); err != nil {
		return err
	}

	ti := 0
	err = tx.Bucket(bktTxIDs).ForEach(func(k, v []byte) error {
		want, ok := txids[string(k)]
		if !ok {
			return verr(-1, "txids", string(k), "indexed but in no block")
		}
		if len(v) != 8 || binary.BigEndian.Uint64(v) != want {
			return verr(int64(want), "txids", string(k), "index points to the wrong block")
		}
		ti++
		return nil
	})
	if err != nil {
		return err
	}
	if ti != len(txids) {
		for id, blk := range txids {
			if tx.Bucket(bktTxIDs).Get([]byte(id)) == nil {
				return verr(int64(blk), "txids", id, "tx ID missing from the index")
			}
		}
	}

	ids := tx.Bucket(bktIdentities)
	for h, blk := range creators {
		v := ids.Get(h[:])
		if v == nil {
			return verr(int64(blk), "identities", fmt.Sprintf("%x", h), "creator identity missing")
		}
		if sha256.Sum256(v) != h {
			return verr(int64(blk), "identities", fmt.Sprintf("%x", h), "stored identity does not match its hash")
		}
	}
	return nil
}

// verifyState merges the state bucket (sorted) with the replayed state
// (sorted here) and reports the first key where they differ.
func verifyState(b *bolt.Bucket, want map[string][]byte, bucket string) error {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	c := b.Cursor()
	k, v := c.First()
	i := 0
	for k != nil || i < len(keys) {
		switch {
		case k == nil || (i < len(keys) && keys[i] < string(k)):
			return verr(-1, bucket, keys[i], "missing from %s but set by the log", bucket)
		case i >= len(keys) || string(k) < keys[i]:
			return verr(-1, bucket, string(k), "present in %s but not set by the log", bucket)
		default:
			if !bytes.Equal(v, want[keys[i]]) {
				return verr(-1, bucket, keys[i], "value differs from the log's last write")
			}
			k, v = c.Next()
			i++
		}
	}
	return nil
}

func verifyHistory(b *bolt.Bucket, want map[string]struct{}) error {
	err := b.ForEach(func(k, _ []byte) error {
		if _, ok := want[string(k)]; !ok {
			key, blk := splitHistoryKey(k)
			return verr(blk, "history", key, "history entry not backed by the log")
		}
		delete(want, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for k := range want {
			missing = append(missing, k)
		}
		slices.Sort(missing)
		key, blk := splitHistoryKey([]byte(missing[0]))
		return verr(blk, "history", key, "history entry missing")
	}
	return nil
}

// splitHistoryKey decodes a history key for error messages; it returns -1 as
// the block for a malformed key.
func splitHistoryKey(k []byte) (string, int64) {
	n, m := binary.Uvarint(k)
	if m <= 0 || uint64(len(k)-m) != n+8 {
		return string(k), -1
	}
	return string(k[m : m+int(n)]), int64(binary.BigEndian.Uint64(k[m+int(n):]))
}
