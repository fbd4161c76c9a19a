package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// view runs fn in a read-only snapshot, refusing once the ledger is closed.
func (l *Ledger) view(fn func(tx *bolt.Tx) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.View(fn)
}

// History returns key's committed modifications, newest first (the order
// Fabric v2's GetHistoryForKey uses).
func (l *Ledger) History(key string) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		out, err = historyFor(tx, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: history: %w", err)
	}
	return out, nil
}

// GetState returns the committed value of key (nil if absent), outside any
// transaction: for tools and tests.
func (l *Ledger) GetState(key string) ([]byte, error) {
	var out []byte
	err := l.view(func(tx *bolt.Tx) error {
		out = bytes.Clone(tx.Bucket(bktState).Get([]byte(key)))
		return nil
	})
	return out, err
}

// Height returns the number of committed blocks (transactions) and the hash
// of the last one (zero when empty). Publishing the pair elsewhere anchors
// the log: Verify proves the store is consistent with itself; comparing the
// head with an anchored copy proves it was not rewritten wholesale.
func (l *Ledger) Height() (height uint64, head [32]byte, err error) {
	err = l.view(func(tx *bolt.Tx) error {
		height, head, _, err = readHead(tx.Bucket(bktMeta))
		return err
	})
	return height, head, err
}

// Block returns block n, or an error wrapping ErrNotFound.
func (l *Ledger) Block(n uint64) (*Block, error) {
	var blk *Block
	err := l.view(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bktBlocks).Get(binary.BigEndian.AppendUint64(nil, n))
		if raw == nil {
			return fmt.Errorf("block %d: %w", n, ErrNotFound)
		}
		var err error
		blk, err = decodeBlock(raw)
		if err != nil {
			return fmt.Errorf("block %d: %w", n, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	return blk, nil
}

// FindTx returns the number of the block holding txID, or an error wrapping
// ErrNotFound if no committed transaction has that ID.
func (l *Ledger) FindTx(txID string) (uint64, error) {
	var n uint64
	err := l.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktTxIDs).Get([]byte(txID))
		if v == nil {
			return fmt.Errorf("tx %s: %w", txID, ErrNotFound)
		}
		if len(v) != 8 {
			return fmt.Errorf("tx %s: corrupt index entry", txID)
		}
		n = binary.BigEndian.Uint64(v)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("embedded: %w", err)
	}
	return n, nil
}

// Identity returns the serialized identity (msp.SerializedIdentity bytes)
// whose SHA-256 is a block's CreatorHash.
func (l *Ledger) Identity(hash [32]byte) ([]byte, error) {
	var out []byte
	err := l.view(func(tx *bolt.Tx) error {
		out = bytes.Clone(tx.Bucket(bktIdentities).Get(hash[:]))
		if out == nil {
			return fmt.Errorf("identity %x: %w", hash[:8], ErrNotFound)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("embedded: %w", err)
	}
	return out, err
}
