package embedded

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/network/msp"
	bolt "go.etcd.io/bbolt"
)

// tamper edits the closed store in dir with f.
func tamper(t *testing.T, dir string, f func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(f); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// Issue 19 item 5: a value changed on disk was served and appended to.
// Open's check finds any state entry changed, added or removed, and the
// ledger then refuses Submit and Evaluate, saying why; Verify still runs.
func TestOpenRefusesAlteredState(t *testing.T) {
	cases := []struct {
		name, want string
		edit       func(tx *bolt.Tx) error
	}{
		{"value written by an old block", "is not the state block 5 committed to", func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Put([]byte("c"), []byte("33")) // written by block 3
		}},
		{"value written by the last block", `state key "e" is not what block 5, the last, wrote`, func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Put([]byte("e"), []byte("7"))
		}},
		{"entry added", "is not the state block 5 committed to", func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Put([]byte("zz"), []byte("1"))
		}},
		{"entry removed", "is not the state block 5 committed to", func(tx *bolt.Tx) error {
			return tx.Bucket(bktState).Delete([]byte("d"))
		}},
		{"state hash rewritten with the value", "the state hash in the metadata is not the one block 5 records", func(tx *bolt.Tx) error {
			st, meta := tx.Bucket(bktState), tx.Bucket(bktMeta)
			var h ltHash
			if err := h.setBytes(meta.Get(metaStateHash)); err != nil {
				return err
			}
			h.sub("c", st.Get([]byte("c")))
			h.add("c", []byte("33"))
			if err := st.Put([]byte("c"), []byte("33")); err != nil {
				return err
			}
			return meta.Put(metaStateHash, h.bytes())
		}},
		{"last block dropped", "block 4's hash is not the head hash", func(tx *bolt.Tx) error {
			meta := tx.Bucket(bktMeta)
			if err := tx.Bucket(bktBlocks).Delete(blockKey(5)); err != nil {
				return err
			}
			return meta.Put(metaHeight, blockKey(5))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildLedger(t)
			tamper(t, dir, tc.edit)
			l, err := Open(dir, kvChaincode{}, Options{NoSync: true})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer l.Close()
			if err := l.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
			h0, _, _ := l.Height()
			_, err = l.Submit(context.Background(), testIdentity(t), "put", "x", "1")
			var ie *IntegrityError
			if !errors.As(err, &ie) || !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "altered outside the ledger") {
				t.Fatalf("Submit on an altered store = %v", err)
			}
			if _, err := l.Evaluate(context.Background(), testIdentity(t), "put", "x", "1"); !errors.Is(err, ErrTampered) {
				t.Fatalf("Evaluate on an altered store = %v", err)
			}
			if h1, _, _ := l.Height(); h1 != h0 {
				t.Fatalf("height %d -> %d: appended to an altered store", h0, h1)
			}
			if l.Verify() == nil {
				t.Fatal("Verify passes an altered store")
			}
		})
	}
	// An intact store passes, and keeps passing after more commits.
	dir := buildLedger(t)
	l, err := Open(dir, kvChaincode{}, Options{NoSync: true})
	if err != nil || l.Check() != nil {
		t.Fatalf("intact store: %v, %v", err, l.Check())
	}
	if _, err := l.Submit(context.Background(), testIdentity(t), "del", "a"); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if l, err = Open(dir, kvChaincode{}, Options{NoSync: true, ReadOnly: true}); err != nil || l.Check() != nil {
		t.Fatalf("reopened: %v, %v", err, l.Check())
	}
	l.Close()
}

// Issue 19 item 8: a transaction that changes nothing appends no block.
func TestUnchangedTransactionAppendsNoBlock(t *testing.T) {
	dir := buildLedger(t)
	l, err := Open(dir, kvChaincode{}, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h0, head0, _ := l.Height()
	for i := 0; i < 200; i++ {
		r, err := l.Submit(context.Background(), testIdentity(t), "put") // no pairs: writes nothing
		if err != nil || !r.Unchanged || r.Block != h0 || r.TxID == "" {
			t.Fatalf("submit %d: %+v, %v", i, r, err)
		}
	}
	if h, head, _ := l.Height(); h != h0 || head != head0 {
		t.Fatalf("height %d -> %d after 200 transactions that change nothing", h0, h)
	}
	r, err := l.Submit(context.Background(), testIdentity(t), "put", "a", "7")
	if err != nil || r.Unchanged || r.Block != h0 {
		t.Fatalf("a write: %+v, %v", r, err)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
}

// forgeIdentity issues, with its own new CA, a certificate that claims
// mspID: the Admin of a fourth org whose mspid file was edited.
func forgeIdentity(t *testing.T, mspID string) *msp.Identity {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca.org4.example.com", Organization: []string{"org4.example.com"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Admin@org2.example.com", OrganizationalUnit: []string{"admin"}},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &msp.Identity{MSPID: mspID, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Key: key}
}

// Issue 19 item 5: an Admin certificate of a fourth org's own CA, its MSP ID
// edited to Org2MSP, was counted as Org2's. Once the ledger defines its
// MSPs, an identity must chain to the roots of the MSP it claims.
func TestIdentityMustChainToItsMSP(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, kvChaincode{}, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := msp.NewCA("Org1MSP", "org1.example.com")
	ca2, _ := msp.NewCA("Org2MSP", "org2.example.com")
	admin1, _ := ca1.Issue(msp.UserSpec{Name: "Admin", Role: msp.RoleAdmin})
	admin2, _ := ca2.Issue(msp.UserSpec{Name: "Admin", Role: msp.RoleAdmin})
	ctx := context.Background()
	for _, ca := range []*msp.CA{ca1, ca2} {
		if r, err := l.DefineMSP(ctx, admin1, ca.MSPID, ca.CertPEM); err != nil || r.Unchanged {
			t.Fatalf("define %s: %+v, %v", ca.MSPID, r, err)
		}
	}
	if r, err := l.DefineMSP(ctx, admin1, "Org2MSP", ca2.CertPEM); err != nil || !r.Unchanged {
		t.Fatalf("redefining with the same roots: %+v, %v", r, err)
	}
	forged := forgeIdentity(t, "Org2MSP")
	other, _ := msp.NewCA("Org2MSP", "org4.example.com")
	if _, err := l.DefineMSP(ctx, admin1, "Org2MSP", other.CertPEM); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("replacing Org2MSP's roots: %v", err)
	}
	if _, err := l.Submit(ctx, admin2, "put", "vote/Org2MSP", "yes"); err != nil {
		t.Fatalf("Org2's real admin: %v", err)
	}
	for name, call := range map[string]func() error{
		"submit":   func() error { _, err := l.Submit(ctx, forged, "put", "vote/Org2MSP", "no"); return err },
		"evaluate": func() error { _, err := l.Evaluate(ctx, forged, "put", "x", "1"); return err },
	} {
		err := call()
		if !errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), `claims Org2MSP but its certificate was not issued by Org2MSP's certificate authority`) {
			t.Fatalf("forged identity, %s: %v", name, err)
		}
	}
	undefined, _ := msp.NewCA("Org4MSP", "org4.example.com")
	admin4, _ := undefined.Issue(msp.UserSpec{Name: "Admin", Role: msp.RoleAdmin})
	if _, err := l.Submit(ctx, admin4, "put", "x", "1"); !errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), `MSP "Org4MSP" is not defined`) {
		t.Fatalf("undefined MSP: %v", err)
	}
	if v, _ := l.GetState("vote/Org2MSP"); string(v) != "yes" {
		t.Fatalf("vote/Org2MSP = %q", v)
	}
	if err := l.Verify(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// The definitions are in the log and survive a reopen.
	l, err = Open(dir, kvChaincode{}, Options{NoSync: true})
	if err != nil || l.Check() != nil {
		t.Fatalf("reopen: %v %v", err, l.Check())
	}
	defer l.Close()
	if _, err := l.Submit(ctx, forged, "put", "x", "1"); !errors.Is(err, ErrIdentity) {
		t.Fatalf("forged identity after reopen: %v", err)
	}
	if len(l.MSPs()) != 2 {
		t.Fatalf("MSPs = %v", l.MSPs())
	}
}

// Issue 19 item 6: read-only opens share the store, need no write access,
// and a writer that cannot get the lock fails with ErrBusy.
func TestReadOnlyAndBusy(t *testing.T) {
	dir := buildLedger(t)
	r1, err := Open(dir, kvChaincode{}, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Open(dir, kvChaincode{}, Options{ReadOnly: true, Wait: -1})
	if err != nil {
		t.Fatalf("a second read-only open: %v", err)
	}
	if v, _ := r2.GetState("a"); string(v) != "6" {
		t.Fatalf("a = %q", v)
	}
	if _, err := r1.Submit(context.Background(), testIdentity(t), "put", "a", "1"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("submit on a read-only ledger: %v", err)
	}
	if _, err := Open(dir, kvChaincode{}, Options{Wait: -1}); !errors.Is(err, ErrBusy) {
		t.Fatalf("a writer while readers hold the store: %v", err)
	}
	r1.Close()
	r2.Close()

	// A read-only folder and file.
	if err := os.Chmod(filepath.Join(dir, dbFile), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	r, err := Open(dir, kvChaincode{}, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only folder: %v", err)
	}
	defer r.Close()
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dir, "nope"), kvChaincode{}, Options{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of nothing: %v", err)
	}
}

// BenchmarkOpenCheck measures Open's integrity check (the full state scan
// dominates) on a state of n entries of ~200 bytes, and the check alone.
//
//	go test -run '^$' -bench 'OpenCheck|StateHash' ./network/embedded
func BenchmarkOpenCheck(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			l, err := Open(dir, kvChaincode{}, Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			id := testIdentity(b)
			val := strings.Repeat("v", 200)
			for i := 0; i < n; i += 500 {
				args := []string{}
				for j := i; j < i+500 && j < n; j++ {
					args = append(args, fmt.Sprintf("key-%08d", j), val)
				}
				if _, err := l.Submit(context.Background(), id, "put", args...); err != nil {
					b.Fatal(err)
				}
			}
			l.Close()
			cp := l.Checkpoint()
			for _, mode := range []struct {
				name  string
				since *Checkpoint
			}{{"scan", nil}, {"since", cp}} {
				b.Run(mode.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						l, err := Open(dir, kvChaincode{}, Options{NoSync: true, ReadOnly: true, Since: mode.since})
						if err != nil || l.Check() != nil {
							b.Fatal(err, l.Check())
						}
						l.Close()
					}
				})
			}
		})
	}
}

// BenchmarkStateHashWrite is the per-write cost a commit adds: one pair
// removed from the state hash and one added (a 200-byte value).
func BenchmarkStateHashWrite(b *testing.B) {
	var h ltHash
	val := []byte(strings.Repeat("v", 200))
	for i := 0; i < b.N; i++ {
		h.sub("resource/ecs-00000001", val)
		h.add("resource/ecs-00000001", val)
	}
}
