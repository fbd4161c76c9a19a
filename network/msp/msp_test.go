package msp_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fedmeter/fedmeter/network/msp"
	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

func Example() {
	dir, err := os.MkdirTemp("", "org1")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	err = msp.GenerateOrg(dir, "Org1MSP", "org1.example.com", []msp.UserSpec{
		{Name: "Admin", Role: msp.RoleAdmin},
		{Name: "agent1", Role: msp.RoleAgent},
	})
	if err != nil {
		panic(err)
	}
	id, err := msp.LoadIdentity(msp.UserMSPDir(dir, "agent1", "org1.example.com"))
	if err != nil {
		panic(err)
	}
	cert, err := id.Certificate()
	if err != nil {
		panic(err)
	}
	fmt.Println(id.MSPID, cert.Subject.CommonName, cert.Subject.OrganizationalUnit)
	// Output: Org1MSP agent1@org1.example.com [client]
}

func TestGenerateLoadSerialize(t *testing.T) {
	dir := t.TempDir()
	users := []msp.UserSpec{{Name: "Admin", Role: msp.RoleAdmin}, {Name: "User1", Role: msp.RoleMember}}
	if err := msp.GenerateOrg(dir, "Org1MSP", "org1.example.com", users); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"msp/cacerts/ca.org1.example.com-cert.pem", "msp/config.yaml", "ca/priv_sk",
		"users/Admin@org1.example.com/msp/keystore/priv_sk", "users/User1@org1.example.com/msp/signcerts/User1@org1.example.com-cert.pem"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	admin, err := msp.LoadIdentity(msp.UserMSPDir(dir, "Admin", "org1.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := admin.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.Subject.OrganizationalUnit; len(got) != 1 || got[0] != "admin" {
		t.Fatalf("admin OU = %v", got)
	}
	// The certificate chains to the org CA.
	caPEM, _ := os.ReadFile(filepath.Join(dir, "msp/cacerts/ca.org1.example.com-cert.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("verify chain: %v", err)
	}
	// Serialize round-trips as a Fabric SerializedIdentity.
	b, err := admin.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	var sid mspproto.SerializedIdentity
	if err := proto.Unmarshal(b, &sid); err != nil || sid.Mspid != "Org1MSP" || string(sid.IdBytes) != string(admin.CertPEM) {
		t.Fatalf("serialized identity: %v %q", err, sid.Mspid)
	}
	// Signatures verify and are low-S.
	sig, err := admin.Sign([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("hello"))
	if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), h[:], sig) {
		t.Fatal("signature does not verify")
	}
	// Idempotent: re-running keeps the existing user and adds a new one.
	before, _ := os.ReadFile(filepath.Join(msp.UserMSPDir(dir, "Admin", "org1.example.com"), "keystore", "priv_sk"))
	if err := msp.GenerateOrg(dir, "Org1MSP", "org1.example.com", append(users, msp.UserSpec{Name: "agent1", Role: msp.RoleAgent})); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(msp.UserMSPDir(dir, "Admin", "org1.example.com"), "keystore", "priv_sk"))
	if string(before) != string(after) {
		t.Fatal("existing user key was regenerated")
	}
	if _, err := msp.LoadIdentity(msp.UserMSPDir(dir, "agent1", "org1.example.com")); err != nil {
		t.Fatal(err)
	}
	if err := msp.GenerateOrg(dir, "OtherMSP", "org1.example.com", nil); err == nil {
		t.Fatal("expected MSP ID mismatch error")
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, mspID, org string
		users            []msp.UserSpec
	}{
		{"empty msp", "", "org1", nil},
		{"path in org", "Org1MSP", "../x", nil},
		{"bad role", "Org1MSP", "org1", []msp.UserSpec{{Name: "u", Role: "root"}}},
		{"bad user", "Org1MSP", "org1", []msp.UserSpec{{Name: "a/b", Role: msp.RoleMember}}},
		{"dup user", "Org1MSP", "org1", []msp.UserSpec{{Name: "u", Role: msp.RoleMember}, {Name: "u", Role: msp.RoleAgent}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := msp.GenerateOrg(filepath.Join(dir, c.name), c.mspID, c.org, c.users); err == nil {
				t.Fatal("expected error")
			}
		})
	}
	if _, err := msp.LoadIdentity(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("expected error loading missing identity")
	}
	var nilID *msp.Identity
	if _, err := nilID.Serialize(); err == nil {
		t.Fatal("expected error")
	}
}
