package embedded

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ltHash is a homomorphic multiset hash of the ledger's state (LtHash,
// Bellare–Micciancio's construction as Facebook's LtHash16: 1024 lanes of 16
// bits, added lane by lane modulo 2^16). Each (key, value) pair maps to a
// 2 KiB vector; the state's hash is the sum of its pairs' vectors, so a
// commit updates it in O(writes) (subtract the old pair, add the new one)
// while a full scan of the state recomputes it from scratch. Finding two
// different states with the same sum is a short-vector lattice problem
// (about 200 bits of security at these parameters).
//
// A pair's vector is AES-256-CTR's keystream (zero IV) under the key
// SHA-256(uvarint(len(key)) || key || value): a PRF expansion of a
// collision-resistant digest.
type ltHash [ltLanes]uint16

const (
	ltLanes = 1024
	ltBytes = 2 * ltLanes
)

// expandPair writes the vector of the pair (key, value) to out.
func expandPair(key string, value []byte, out *[ltBytes]byte) {
	h := sha256.New()
	var lb [binary.MaxVarintLen64]byte
	h.Write(lb[:binary.PutUvarint(lb[:], uint64(len(key)))])
	h.Write([]byte(key))
	h.Write(value)
	var seed [32]byte
	h.Sum(seed[:0])
	blk, err := aes.NewCipher(seed[:])
	if err != nil {
		panic(err) // a 32-byte key is always valid
	}
	var iv [aes.BlockSize]byte
	clear(out[:])
	cipher.NewCTR(blk, iv[:]).XORKeyStream(out[:], out[:])
}

// add adds the pair (key, value) to the multiset.
func (h *ltHash) add(key string, value []byte) {
	var v [ltBytes]byte
	expandPair(key, value, &v)
	for i := range h {
		h[i] += binary.LittleEndian.Uint16(v[2*i:])
	}
}

// sub removes the pair (key, value) from the multiset.
func (h *ltHash) sub(key string, value []byte) {
	var v [ltBytes]byte
	expandPair(key, value, &v)
	for i := range h {
		h[i] -= binary.LittleEndian.Uint16(v[2*i:])
	}
}

// bytes is the lanes, little-endian: the meta record.
func (h *ltHash) bytes() []byte {
	out := make([]byte, ltBytes)
	for i, x := range h {
		binary.LittleEndian.PutUint16(out[2*i:], x)
	}
	return out
}

func (h *ltHash) setBytes(b []byte) error {
	if len(b) != ltBytes {
		return fmt.Errorf("state hash record: bad length %d (want %d)", len(b), ltBytes)
	}
	for i := range h {
		h[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return nil
}

// sum is the 32-byte digest a block header records.
func (h *ltHash) sum() [32]byte { return sha256.Sum256(h.bytes()) }

// scanState recomputes the LtHash of the state and config buckets. Config
// keys begin with configPrefix, which no contract key can, so a pair cannot
// move between the two buckets unnoticed.
func scanState(tx *bolt.Tx) (*ltHash, int, error) {
	var h ltHash
	n := 0
	for _, name := range [][]byte{bktState, bktConfig} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			h.add(string(k), v)
			n++
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return &h, n, nil
}
