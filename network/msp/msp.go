// Package msp generates and loads local organisation identities as real X.509
// certificates and ECDSA P-256 keys laid out in Fabric MSP-style folders.
//
// The embedded ledger passes these identities to the contract exactly as a
// Fabric peer would (a protobuf msp.SerializedIdentity holding the PEM
// certificate), so the contract's identity code (the cid package) runs
// unchanged on both. The same folders can be handed to Fabric tooling: the
// layout follows cryptogen's (cacerts/, signcerts/, keystore/, config.yaml with
// NodeOUs enabled).
//
// Roles. Fabric's only built-in role distinction for clients is the NodeOU:
// with NodeOUs enabled an identity whose certificate carries OU=admin is an
// admin, OU=client a client. So:
//
//	RoleAdmin  -> OU "admin"
//	RoleMember -> OU "client"
//	RoleAgent  -> OU "client"
//
// and, to tell a member from a metering agent (which Fabric has no OU for),
// every certificate also carries the Fabric CA attribute extension
// (OID 1.2.3.4.5.6.7.8.1, the format cid.GetAttributeValue reads) with
// RoleAttribute ("fedmeter.role") set to "admin", "member" or "agent", plus
// "hf.EnrollmentID" and "hf.Type" as Fabric CA would write them. A contract
// should decide "is admin" by cid.HasOUValue("admin") (portable to any Fabric
// CA setup with NodeOUs) and "is agent" by the fedmeter.role attribute.
package msp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// Role is the fedmeter role of a user identity.
type Role string

// Roles a user certificate can carry. See the package doc for how they map
// onto Fabric NodeOUs and the certificate attribute.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleAgent  Role = "agent"
)

// RoleAttribute is the name of the certificate attribute (Fabric CA format)
// that carries the fedmeter role; read it with cid.GetAttributeValue.
const RoleAttribute = "fedmeter.role"

// attrOID is the Fabric CA attribute extension (attrmgr.AttrOID).
var attrOID = asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7, 8, 1}

// OU returns the NodeOU a certificate of this role carries.
func (r Role) OU() string {
	if r == RoleAdmin {
		return "admin"
	}
	return "client"
}

func (r Role) valid() bool {
	return r == RoleAdmin || r == RoleMember || r == RoleAgent
}

// UserSpec names a user to issue. Name is the short name ("Admin", "agent1");
// the enrollment ID and certificate CN become Name@orgName.
type UserSpec struct {
	Name string
	Role Role
}

// Identity is a signing identity: an MSP ID, the PEM certificate, and the
// private key (nil for a verify-only identity).
type Identity struct {
	MSPID   string
	CertPEM []byte
	Key     *ecdsa.PrivateKey
}

// Serialize returns the protobuf msp.SerializedIdentity{Mspid, IdBytes: PEM},
// byte for byte what a Fabric client puts in a proposal's creator field and
// what shim's GetCreator returns to the contract.
func (id *Identity) Serialize() ([]byte, error) {
	if id == nil {
		return nil, errors.New("msp: nil identity")
	}
	if id.MSPID == "" {
		return nil, errors.New("msp: identity has no MSP ID")
	}
	if len(id.CertPEM) == 0 {
		return nil, errors.New("msp: identity has no certificate")
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mspproto.SerializedIdentity{Mspid: id.MSPID, IdBytes: id.CertPEM})
	if err != nil {
		return nil, fmt.Errorf("msp: serialize identity: %w", err)
	}
	return b, nil
}

// Certificate parses and returns the identity's certificate.
func (id *Identity) Certificate() (*x509.Certificate, error) {
	if id == nil {
		return nil, errors.New("msp: nil identity")
	}
	return parseCertPEM(id.CertPEM)
}

// Sign signs SHA-256(msg) with the identity's key and returns an ASN.1 DER
// ECDSA signature normalised to low-S, as Fabric's MSP requires.
func (id *Identity) Sign(msg []byte) ([]byte, error) {
	if id == nil || id.Key == nil {
		return nil, errors.New("msp: identity has no private key")
	}
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, id.Key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("msp: sign: %w", err)
	}
	halfOrder := new(big.Int).Rsh(id.Key.Params().N, 1)
	if s.Cmp(halfOrder) > 0 {
		s.Sub(id.Key.Params().N, s)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// CA is an organisation's certificate authority held in memory. It issues user
// identities; GenerateOrg persists it and its users as MSP folders. Tests that
// need identities but no files can use NewCA and Issue directly.
type CA struct {
	MSPID   string
	OrgName string
	Cert    *x509.Certificate
	CertPEM []byte
	Key     *ecdsa.PrivateKey
}

// validity of generated certificates. Long, because these are local
// development and single-site identities with no renewal machinery.
const validity = 10 * 365 * 24 * time.Hour

// NewCA creates a self-signed ECDSA P-256 CA for an org. orgName is used as a
// DNS-like domain in subject names (e.g. "org1.example.com").
func NewCA(mspID, orgName string) (*CA, error) {
	if err := checkName("MSP ID", mspID); err != nil {
		return nil, err
	}
	if err := checkName("org name", orgName); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("msp: generate CA key: %w", err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now().Add(-5 * time.Minute)
	ski := subjectKeyID(&key.PublicKey)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{orgName},
			CommonName:   "ca." + orgName,
		},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("msp: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("msp: parse CA certificate: %w", err)
	}
	return &CA{MSPID: mspID, OrgName: orgName, Cert: cert, CertPEM: pemCert(der), Key: key}, nil
}

// Issue creates a user key and a certificate signed by the CA carrying the
// user's NodeOU and fedmeter role attribute.
func (ca *CA) Issue(u UserSpec) (*Identity, error) {
	if ca == nil || ca.Key == nil || ca.Cert == nil {
		return nil, errors.New("msp: CA not initialised")
	}
	if err := checkName("user name", u.Name); err != nil {
		return nil, err
	}
	if !u.Role.valid() {
		return nil, fmt.Errorf("msp: user %q: unknown role %q (want admin, member or agent)", u.Name, u.Role)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("msp: generate key for %q: %w", u.Name, err)
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	enrollmentID := u.Name + "@" + ca.OrgName
	attrs, err := json.Marshal(struct {
		Attrs map[string]string `json:"attrs"`
	}{map[string]string{
		RoleAttribute:     string(u.Role),
		"hf.EnrollmentID": enrollmentID,
		"hf.Type":         u.Role.OU(),
	}})
	if err != nil {
		return nil, fmt.Errorf("msp: encode attributes: %w", err)
	}
	now := time.Now().Add(-5 * time.Minute)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization:       []string{ca.OrgName},
			OrganizationalUnit: []string{u.Role.OU()},
			CommonName:         enrollmentID,
		},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          subjectKeyID(&key.PublicKey),
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
		ExtraExtensions:       []pkix.Extension{{Id: attrOID, Critical: false, Value: attrs}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("msp: issue certificate for %q: %w", u.Name, err)
	}
	return &Identity{MSPID: ca.MSPID, CertPEM: pemCert(der), Key: key}, nil
}

// Paths inside an org folder written by GenerateOrg.
const (
	caDirName     = "ca"
	mspDirName    = "msp"
	usersDirName  = "users"
	mspIDFileName = "mspid"
	keyFileName   = "priv_sk"
)

// GenerateOrg writes (or completes) an organisation's MSP folders under dir:
//
//	dir/ca/ca.<org>-cert.pem, dir/ca/priv_sk      the CA (kept to issue more users)
//	dir/msp/{cacerts/,config.yaml,mspid}          the org's verifying MSP
//	dir/users/<name>@<org>/msp/{cacerts/,signcerts/,keystore/priv_sk,config.yaml,mspid}
//
// The mspid file (plain text) is a fedmeter addition: MSP folders do not record
// their MSP ID, and LoadIdentity needs it; Fabric ignores unknown files.
//
// It is idempotent: an existing CA is reused (its MSP ID must match) and users
// whose folders exist are left untouched, so users can be added later by
// calling it again with a longer list. Keys are written 0600, folders 0700.
func GenerateOrg(dir, mspID, orgName string, users []UserSpec) error {
	ca, err := loadOrCreateCA(dir, mspID, orgName)
	if err != nil {
		return err
	}
	if err := writeVerifyingMSP(filepath.Join(dir, mspDirName), ca); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u.Name] {
			return fmt.Errorf("msp: duplicate user %q", u.Name)
		}
		seen[u.Name] = true
		udir := UserMSPDir(dir, u.Name, orgName)
		if _, err := os.Stat(filepath.Join(udir, "signcerts")); err == nil {
			continue
		}
		id, err := ca.Issue(u)
		if err != nil {
			return err
		}
		if err := writeUserMSP(udir, u.Name+"@"+orgName, ca, id); err != nil {
			return err
		}
	}
	return nil
}

// UserMSPDir is where GenerateOrg puts a user's MSP folder; pass it to
// LoadIdentity.
func UserMSPDir(orgDir, userName, orgName string) string {
	return filepath.Join(orgDir, usersDirName, userName+"@"+orgName, mspDirName)
}

// LoadIdentity reads a signing identity from an MSP folder: the MSP ID from
// the mspid file, the first certificate in signcerts/ and the first private
// key in keystore/ (PKCS#8, SEC 1 EC keys accepted). The key must match the
// certificate.
func LoadIdentity(dir string) (*Identity, error) {
	idb, err := os.ReadFile(filepath.Join(dir, mspIDFileName))
	if err != nil {
		return nil, fmt.Errorf("msp: load identity %s: read MSP ID: %w", dir, err)
	}
	mspID := strings.TrimSpace(string(idb))
	if mspID == "" {
		return nil, fmt.Errorf("msp: load identity %s: empty mspid file", dir)
	}
	certPEM, err := readFirst(filepath.Join(dir, "signcerts"))
	if err != nil {
		return nil, fmt.Errorf("msp: load identity %s: %w", dir, err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("msp: load identity %s: %w", dir, err)
	}
	keyPEM, err := readFirst(filepath.Join(dir, "keystore"))
	if err != nil {
		return nil, fmt.Errorf("msp: load identity %s: %w", dir, err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("msp: load identity %s: %w", dir, err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("msp: load identity %s: private key does not match certificate", dir)
	}
	return &Identity{MSPID: mspID, CertPEM: certPEM, Key: key}, nil
}

func loadOrCreateCA(dir, mspID, orgName string) (*CA, error) {
	cadir := filepath.Join(dir, caDirName)
	certPath := filepath.Join(cadir, "ca."+orgName+"-cert.pem")
	if certPEM, err := os.ReadFile(certPath); err == nil {
		cert, err := parseCertPEM(certPEM)
		if err != nil {
			return nil, fmt.Errorf("msp: existing CA %s: %w", certPath, err)
		}
		keyPEM, err := os.ReadFile(filepath.Join(cadir, keyFileName))
		if err != nil {
			return nil, fmt.Errorf("msp: existing CA key: %w", err)
		}
		key, err := parseKeyPEM(keyPEM)
		if err != nil {
			return nil, fmt.Errorf("msp: existing CA key: %w", err)
		}
		idb, err := os.ReadFile(filepath.Join(dir, mspDirName, mspIDFileName))
		if err == nil && strings.TrimSpace(string(idb)) != mspID {
			return nil, fmt.Errorf("msp: %s already holds org with MSP ID %q, not %q", dir, strings.TrimSpace(string(idb)), mspID)
		}
		return &CA{MSPID: mspID, OrgName: orgName, Cert: cert, CertPEM: certPEM, Key: key}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("msp: read CA certificate: %w", err)
	}
	ca, err := NewCA(mspID, orgName)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cadir, 0o700); err != nil {
		return nil, fmt.Errorf("msp: %w", err)
	}
	keyPEM, err := pemKey(ca.Key)
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(cadir, keyFileName), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(certPath, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

func caCertFileName(ca *CA) string { return "ca." + ca.OrgName + "-cert.pem" }

// nodeOUConfig is config.yaml with NodeOUs enabled, as cryptogen writes it.
func nodeOUConfig(ca *CA) []byte {
	var b bytes.Buffer
	b.WriteString("NodeOUs:\n  Enable: true\n")
	for _, ou := range []struct{ field, value string }{
		{"ClientOUIdentifier", "client"},
		{"PeerOUIdentifier", "peer"},
		{"AdminOUIdentifier", "admin"},
		{"OrdererOUIdentifier", "orderer"},
	} {
		fmt.Fprintf(&b, "  %s:\n    Certificate: cacerts/%s\n    OrganizationalUnitIdentifier: %s\n", ou.field, caCertFileName(ca), ou.value)
	}
	return b.Bytes()
}

func writeVerifyingMSP(dir string, ca *CA) error {
	if err := os.MkdirAll(filepath.Join(dir, "cacerts"), 0o755); err != nil {
		return fmt.Errorf("msp: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "cacerts", caCertFileName(ca)), ca.CertPEM, 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "config.yaml"), nodeOUConfig(ca), 0o644); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, mspIDFileName), []byte(ca.MSPID+"\n"), 0o644)
}

func writeUserMSP(dir, enrollmentID string, ca *CA, id *Identity) error {
	if err := writeVerifyingMSP(dir, ca); err != nil {
		return err
	}
	for _, sub := range []string{"signcerts", "keystore"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("msp: %w", err)
		}
	}
	keyPEM, err := pemKey(id.Key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "keystore", keyFileName), keyPEM, 0o600); err != nil {
		return err
	}
	// signcerts is written last: its presence marks a complete user folder.
	return writeFile(filepath.Join(dir, "signcerts", enrollmentID+"-cert.pem"), id.CertPEM, 0o644)
}

// writeFile writes atomically (temp file + rename) so an interrupted
// generation never leaves a truncated key or certificate behind.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("msp: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("msp: write %s: %w", path, err)
	}
	return nil
}

func readFirst(dir string) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".tmp") {
			return os.ReadFile(filepath.Join(dir, e.Name()))
		}
	}
	return nil, fmt.Errorf("no file in %s", dir)
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("msp: no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("msp: parse certificate: %w", err)
	}
	return cert, nil
}

func parseKeyPEM(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("msp: no PEM block in key file")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("msp: key is %T, want ECDSA", k)
		}
		return ek, nil
	}
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("msp: parse private key: %w", err)
	}
	return k, nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("msp: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func randSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("msp: serial: %w", err)
	}
	return n, nil
}

// subjectKeyID is SHA-256 of the uncompressed public point, as cryptogen does.
func subjectKeyID(pub *ecdsa.PublicKey) []byte {
	b, err := pub.Bytes()
	if err != nil {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// checkName keeps names safe as path components and certificate fields.
func checkName(what, s string) error {
	if len(s) > 128 || !nameRE.MatchString(s) {
		return fmt.Errorf("msp: invalid %s %q (letters, digits, '.', '_', '-'; at most 128)", what, s)
	}
	return nil
}
