package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	bolt "go.etcd.io/bbolt"
)

// kvChaincode is a raw shim.Chaincode: "put k1 v1 k2 v2 ..." writes pairs,
// "del k" deletes, "event name payload" sets an event.
type kvChaincode struct{}

func (kvChaincode) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }

func (kvChaincode) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	fn, args := stub.GetFunctionAndParameters()
	switch fn {
	case "put":
		for i := 0; i+1 < len(args); i += 2 {
			if err := stub.PutState(args[i], []byte(args[i+1])); err != nil {
				return shim.Error(err.Error())
			}
		}
	case "del":
		if err := stub.DelState(args[0]); err != nil {
			return shim.Error(err.Error())
		}
	case "event":
		if err := stub.SetEvent(args[0], []byte(args[1])); err != nil {
			return shim.Error(err.Error())
		}
	default:
		return shim.Error("unknown function " + fn)
	}
	return shim.Success(nil)
}

func testIdentity(t testing.TB) *msp.Identity {
	t.Helper()
	ca, err := msp.NewCA("Org1MSP", "org1")
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.Issue(msp.UserSpec{Name: "u", Role: msp.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// buildLedger commits 6 transactions and closes the ledger, returning dir.
func buildLedger(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, kvChaincode{}, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	id := testIdentity(t)
	for _, args := range [][]string{
		{"put", "a", "1", "b", "1"},
		{"put", "a", "2"},
		{"event", "E", "p"},
		{"put", "c", "3", "d", "4"},
		{"del", "b"},
		{"put", "a", "6", "e", "6"},
	} {
		if _, err := l.Submit(context.Background(), id, args[0], args[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Verify(); err != nil {
		t.Fatalf("clean ledger fails Verify: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func blockKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func TestVerifyDetectsTampering(t *testing.T) {
	reencode := func(tx *bolt.Tx, n uint64, edit func(*Block)) {
		b := tx.Bucket(bktBlocks)
		blk, err := decodeBlock(b.Get(blockKey(n)))
		if err != nil {
			panic(err)
		}
		edit(blk)
		if err := b.Put(blockKey(n), blk.encode()); err != nil {
			panic(err)
		}
	}
	tests := []struct {
		name   string
		tamper func(tx *bolt.Tx) error
		want   string // substring of the Verify error
	}{
		{"edit a written value", func(tx *bolt.Tx) error {
			reencode(tx, 1, func(b *Block) { b.Writes[0].Value = []byte("999") })
			return nil
		}, "block 1: hash does not match the previous hash recorded in block 2"},
		{"flip a byte in the last block", func(tx *bolt.Tx) error {
			b := tx.Bucket(bktBlocks)
			v := bytes.Clone(b.Get(blockKey(5)))
			v[len(v)-2] ^= 1 // the last value byte
			return b.Put(blockKey(5), v)
		}, "block 5: hash does not match the head hash"},
		{"edit timestamp", func(tx *bolt.Tx) error {
			reencode(tx, 0, func(b *Block) { b.Timestamp = b.Timestamp.Add(time.Second) })
			return nil
		}, "block 0: hash does not match"},
		{"drop a block", func(tx *bolt.Tx) error {
			return tx.Bucket(bktBlocks).Delete(blockKey(3))
		}, "block 3: missing: the next stored block is 4"},
		{"drop the last block", func(tx *bolt.Tx) error {
			return tx.Bucket(bktBlocks).Delete(blockKey(5))
		}, "metadata height is 6 but the log has 5 blocks"},
		{"reorder two blocks", func(tx *bolt.Tx) error {
			b := tx.Bucket(bktBlocks)
			v2, v3 := bytes.Clone(b.Get(blockKey(2))), bytes.Clone(b.Get(blockKey(3)))
			if err := b.Put(blockKey(2), v3); err != nil {
				return err
			}
			return b.Put(blockKey(3), v2)
		}, "block 2: record says it is block 3"},
		{"reorder and renumber", func(tx *bolt.Tx) error {
			b := tx.Bucket(bktBlocks)
			b2, _ := decodeBlock(b.Get(blockKey(2)))
			b3, _ := decodeBlock(b.Get(blockKey(3)))
			b2.Number, b3.Number = 3, 2
			b2.PrevHash, b3.PrevHash = b3.PrevHash, b2.PrevHash
			if err := b.Put(blockKey(2), b3.encode()); err != nil {
				return err
			}
			return b.Put(blockKey(3), b2.encode())
		}, "hash does not match the previous hash"},
		{"garbage block", func(tx *bolt.Tx) error {
			return tx.Bucket(bktBlocks).Put(blockKey(4), []byte{1, 2, 3})
		}, "block 4: corrupt record"},
		{"edit a state value", func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Put([]byte("c"), []byte("33"))
		}, `state key "c": value differs from the log's last write`},
		{"add a state key", func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Put([]byte("zz"), []byte("1"))
		}, `state key "zz": present in state but not set by the log`},
		{"resurrect a deleted key", func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Put([]byte("b"), []byte("1"))
		}, `state key "b": present in state but not set by the log`},
		{"delete a state key", func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Delete([]byte("e"))
		}, `state key "e": missing from state`},
		{"delete a history entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bktHistory).Delete(historyKey("a", 1))
		}, `block 1: history key "a": history entry missing`},
		{"forge a history entry", func(tx *bolt.Tx) error {
			return tx.Bucket(bktHistory).Put(historyKey("a", 3), nil)
		}, `block 3: history key "a": history entry not backed by the log`},
		{"repoint a tx ID", func(tx *bolt.Tx) error {
			b := tx.Bucket(bktTxIDs)
			k, _ := b.Cursor().First()
			return b.Put(bytes.Clone(k), blockKey(99))
		}, "index points to the wrong block"},
		{"rewrite the meta head", func(tx *bolt.Tx) error {
			return tx.Bucket(bktMeta).Put(metaTip, make([]byte, 32))
		}, "block 5: hash does not match the head hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildLedger(t)
			db, err := bolt.Open(dir+"/"+dbFile, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.tamper); err != nil {
				t.Fatal(err)
			}
			db.Close()
			l, err := Open(dir, kvChaincode{}, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			err = l.Verify()
			if err == nil {
				t.Fatal("Verify passed on a tampered store")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify error %q does not contain %q", err, tc.want)
			}
			if _, ok := err.(*VerifyError); !ok {
				t.Fatalf("error type %T", err)
			}
		})
	}
}

func TestBlockEncodingRoundTrip(t *testing.T) {
	b := &Block{
		Number: 7, TxID: "abc", Timestamp: time.Unix(1, 5).UTC(), CreatorMSP: "Org1MSP", Function: "f",
		Writes: []Write{{Key: "\x00k\x00", Value: []byte("v")}, {Key: "a", IsDelete: true}},
		Events: []Event{{Name: "E", Payload: []byte{}}},
	}
	b.PrevHash[0], b.CreatorHash[1], b.ArgsHash[2] = 1, 2, 3
	enc := b.encode()
	got, err := decodeBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.encode(), enc) || got.Hash() != b.Hash() {
		t.Fatalf("round trip differs: %+v", got)
	}
	// Unsorted write sets are not canonical and are rejected.
	b.Writes[0], b.Writes[1] = b.Writes[1], b.Writes[0]
	if _, err := decodeBlock(b.encode()); err == nil {
		t.Fatal("unsorted write set accepted")
	}
	// Every truncation fails cleanly.
	for i := 0; i < len(enc); i++ {
		if _, err := decodeBlock(enc[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
}

func FuzzDecodeBlock(f *testing.F) {
	b := &Block{Number: 1, TxID: "t", Writes: []Write{{Key: "a", Value: []byte("1")}}, Events: []Event{{Name: "e"}}}
	f.Add(b.encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, p []byte) {
		blk, err := decodeBlock(p)
		if err == nil && !bytes.Equal(blk.encode(), p) {
			t.Fatalf("accepted a non-canonical encoding")
		}
	})
}
