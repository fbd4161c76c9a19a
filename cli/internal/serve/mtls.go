package serve

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
)

// Mutual TLS: on the embedded ledger, a client that presents the X.509
// certificate of one of the folder's identities (the MSP material that
// init and org add make: orgs/<domain>/users/<user>@<domain>/msp) acts as
// that identity, without a token. The certificate must chain to its org's
// CA (the TLS handshake checks it against every org's CA) and be exactly
// the identity's certificate.

// certIdentities maps the SHA-256 of each local identity's certificate
// (DER) to the identity.
type certIdentities struct {
	mu    sync.Mutex
	byDER map[string]Token
	pool  *x509.CertPool
}

func certHash(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}

// load reads the folder's identities and its orgs' CA certificates.
func (ci *certIdentities) load(dir string) error {
	cfg, err := embedded.LoadConfig(dir)
	if err != nil {
		return err
	}
	by := map[string]Token{}
	pool := x509.NewCertPool()
	for _, o := range cfg.Orgs {
		orgDir := filepath.Join(dir, "orgs", o.Domain)
		cas, _ := filepath.Glob(filepath.Join(orgDir, "msp", "cacerts", "*.pem"))
		for _, f := range cas {
			if b, err := os.ReadFile(f); err == nil {
				pool.AppendCertsFromPEM(b)
			}
		}
		for _, u := range o.Users {
			id, err := msp.LoadIdentity(msp.UserMSPDir(orgDir, u.Name, o.Domain))
			if err != nil {
				continue // an identity without its folder cannot log in
			}
			blk, _ := pem.Decode(id.CertPEM)
			if blk == nil {
				continue
			}
			h := certHash(blk.Bytes)
			by[h] = Token{ID: "x509:" + h[:12], As: o.Name + "/" + u.Name, MSPID: o.MSPID}
		}
	}
	ci.mu.Lock()
	ci.byDER, ci.pool = by, pool
	ci.mu.Unlock()
	return nil
}

func (ci *certIdentities) lookup(der []byte) (Token, bool) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	t, ok := ci.byDER[certHash(der)]
	return t, ok
}

// TLSConfig is the server's TLS configuration for mutual TLS: client
// certificates are asked for and, when given, verified against the
// ledger folder's org CAs. Only the embedded ledger's server accepts
// them (nil on Fabric: tokens only).
func (s *Server) TLSConfig() *tls.Config {
	if s.certs == nil {
		return nil
	}
	s.certs.mu.Lock()
	pool := s.certs.pool
	s.certs.mu.Unlock()
	return &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
}

// certCaller is the identity of a request's verified client certificate:
// ok false when there is none; a problem when there is one that is not a
// local identity's.
func (s *Server) certCaller(r *http.Request) (*caller, bool, *Problem) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || s.certs == nil {
		return nil, false, nil
	}
	t, ok := s.certs.lookup(r.TLS.PeerCertificates[0].Raw)
	if !ok {
		// An identity added since the server started (org add).
		if err := s.certs.load(s.emb.Dir()); err == nil {
			t, ok = s.certs.lookup(r.TLS.PeerCertificates[0].Raw)
		}
	}
	if !ok {
		return nil, true, newProblem(http.StatusUnauthorized, "unauthenticated",
			"the client certificate ("+r.TLS.PeerCertificates[0].Subject.CommonName+") is issued by an org's CA but is not the certificate of a local identity",
			"present the certificate of an identity of the ledger folder (orgs/<domain>/users/<user>/msp/signcerts), or a bearer token")
	}
	c, err := s.clientFor(t)
	if err != nil {
		return nil, true, problemOf(err, "")
	}
	return &caller{tok: t, c: c}, true, nil
}
