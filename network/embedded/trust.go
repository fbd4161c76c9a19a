package embedded

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/fedmeter/fedmeter/network/msp"
	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

// An MSP definition is the set of root certificates of one MSP ID, kept in
// the config bucket under configPrefix+"msp/"+MSP ID and written, like any
// state, by a block of the hash-chained log (function "@config.DefineMSP").
// Once the ledger defines at least one MSP, every Submit and Evaluate
// identity must claim a defined MSP ID and its certificate must chain to
// that MSP's roots, as Fabric's MSP validates a creator against the channel
// config. A ledger that defines none (tests that build identities on the
// fly) accepts any identity.
const configMSPPrefix = configPrefix + "msp/"

// configFnDefineMSP is the function name a config block records.
const configFnDefineMSP = "@config.DefineMSP"

type trustStore struct {
	mu    sync.RWMutex
	roots map[string]*x509.CertPool // MSP ID -> roots
	pems  map[string][]byte
	// ok caches creators (by SHA-256 of the serialized identity) already
	// verified against the current roots.
	ok map[[32]byte]bool
}

func newTrustStore() *trustStore {
	return &trustStore{roots: map[string]*x509.CertPool{}, pems: map[string][]byte{}, ok: map[[32]byte]bool{}}
}

// load reads every MSP definition from the config bucket.
func (t *trustStore) load(b *bolt.Bucket) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.roots, t.pems, t.ok = map[string]*x509.CertPool{}, map[string][]byte{}, map[[32]byte]bool{}
	c := b.Cursor()
	for k, v := c.Seek([]byte(configMSPPrefix)); k != nil && strings.HasPrefix(string(k), configMSPPrefix); k, v = c.Next() {
		id := strings.TrimPrefix(string(k), configMSPPrefix)
		pool, err := parseRoots(v)
		if err != nil {
			return fmt.Errorf("config: MSP %s: %w", id, err)
		}
		t.roots[id], t.pems[id] = pool, append([]byte(nil), v...)
	}
	return nil
}

func (t *trustStore) set(id string, pemRoots []byte) error {
	pool, err := parseRoots(pemRoots)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.roots[id], t.pems[id] = pool, pemRoots
	return nil
}

// parseRoots parses one or more PEM CA certificates.
func parseRoots(p []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := p; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("root certificate %d: %w", n+1, err)
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("root certificate %d (%s) is not a CA certificate", n+1, cert.Subject)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM root certificate")
	}
	return pool, nil
}

// checkCreator verifies a serialized identity against the defined MSPs.
func (t *trustStore) checkCreator(creator []byte) error {
	h := sha256.Sum256(creator)
	t.mu.RLock()
	defined, ok := len(t.roots) > 0, t.ok[h]
	t.mu.RUnlock()
	if !defined || ok {
		return nil
	}
	var sid mspproto.SerializedIdentity
	if err := proto.Unmarshal(creator, &sid); err != nil {
		return fmt.Errorf("%w: not a serialized identity: %v", ErrIdentity, err)
	}
	t.mu.RLock()
	pool := t.roots[sid.Mspid]
	t.mu.RUnlock()
	if pool == nil {
		return fmt.Errorf("%w: MSP %q is not defined on this ledger", ErrIdentity, sid.Mspid)
	}
	blk, _ := pem.Decode(sid.IdBytes)
	if blk == nil {
		return fmt.Errorf("%w: the certificate of an identity of %s is not PEM", ErrIdentity, sid.Mspid)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("%w: the certificate of an identity of %s cannot be parsed: %v", ErrIdentity, sid.Mspid, err)
	}
	// Validity periods are not enforced (the ledger's clock may be pinned
	// to any time for demos and replays): verify at the leaf's own start.
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: cert.NotBefore, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("%w: %q claims %s but its certificate was not issued by %s's certificate authority (issuer %q)",
			ErrIdentity, cert.Subject.CommonName, sid.Mspid, sid.Mspid, cert.Issuer.CommonName)
	}
	t.mu.Lock()
	t.ok[h] = true
	t.mu.Unlock()
	return nil
}

// MSPs returns the MSP IDs the ledger defines, with their PEM roots.
func (l *Ledger) MSPs() map[string][]byte {
	l.trust.mu.RLock()
	defer l.trust.mu.RUnlock()
	out := make(map[string][]byte, len(l.trust.pems))
	for k, v := range l.trust.pems {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// DefineMSP records the root certificates (PEM, one or more CA
// certificates) of mspID in a config block, so that identities claiming
// mspID must chain to them from then on. Redefining an MSP with the same
// roots changes nothing (Result.Unchanged); with other roots it is refused.
// id submits the block; once any MSP is defined it must itself chain to a
// defined MSP's roots.
func (l *Ledger) DefineMSP(ctx context.Context, id *msp.Identity, mspID string, rootsPEM []byte) (*Result, error) {
	if mspID == "" {
		return nil, errors.New("embedded: define MSP: empty MSP ID")
	}
	if _, err := parseRoots(rootsPEM); err != nil {
		return nil, fmt.Errorf("embedded: define MSP %s: %w", mspID, err)
	}
	return l.submit(ctx, id, &configWrite{key: configMSPPrefix + mspID, value: rootsPEM}, configFnDefineMSP, mspID)
}

// configWrite is a config transaction: one write to the config bucket.
type configWrite struct {
	key   string
	value []byte
}

// executeConfig runs a config transaction inside the worker's bbolt
// transaction: like a contract's, its write is applied only if it succeeds.
func (l *Ledger) executeConfig(tx *bolt.Tx, req *request) (writes []Write, err error) {
	cw := req.config
	if old := tx.Bucket(bktConfig).Get([]byte(cw.key)); old != nil {
		if string(old) == string(cw.value) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s is already defined with other root certificates; an MSP's roots are not replaced", strings.TrimPrefix(cw.key, configMSPPrefix))
	}
	return []Write{{Key: cw.key, Value: cw.value}}, nil
}
