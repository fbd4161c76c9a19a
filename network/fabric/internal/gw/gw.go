// Package gw reads the connection profiles that network/fabric/network.sh
// writes and connects to Fabric through fabric-gateway with them. It serves
// the network's own tools (the load generator, the integration test); the
// fedmeter CLI has its own gateway backend in cli/client.
package gw

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"gopkg.in/yaml.v3"
)

// Profile is a connection profile written by network.sh
// ($FEDMETER_NET_DIR/profiles), in the fedmeter CLI's format
// (cli/README.md); this package reads the fields it needs. Paths in
// network.sh's profiles are absolute files.
type Profile struct {
	Endpoint  string `yaml:"endpoint"`  // gateway peer, host:port
	TLSCACert string `yaml:"tlsCACert"` // PEM: the peer's TLS CA
	MSPID     string `yaml:"mspID"`
	CertPath  string `yaml:"certPath"` // PEM: the identity's certificate
	KeyPath   string `yaml:"keyPath"`  // PEM: its private key
	Channel   string `yaml:"channel"`
	Chaincode string `yaml:"chaincode"`
}

// Load reads a profile and checks the fields a connection needs.
func Load(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.MSPID == "" || p.Endpoint == "" || p.TLSCACert == "" || p.CertPath == "" || p.KeyPath == "" {
		return nil, fmt.Errorf("%s: endpoint, tlsCACert, mspID, certPath and keyPath are required", path)
	}
	return &p, nil
}

// MaxMsgSize is the largest gRPC message sent or received: Fabric's
// default for its nodes (peer.maxRecvMsgSize, General.MaxRecvMsgSize).
const MaxMsgSize = 100 << 20

// Conn is a gateway connection.
type Conn struct {
	*client.Gateway
	grpc *grpc.ClientConn
}

// Close closes the gateway and its gRPC connection.
func (c *Conn) Close() error {
	c.Gateway.Close()
	return c.grpc.Close()
}

// Connect opens a gateway connection to endpoint (the profile's when empty)
// as the profile's identity.
func (p *Profile) Connect(endpoint string) (*Conn, error) {
	if endpoint == "" {
		endpoint = p.Endpoint
	}
	caPEM, err := os.ReadFile(p.TLSCACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no certificate", p.TLSCACert)
	}
	certPEM, err := os.ReadFile(p.CertPath)
	if err != nil {
		return nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.CertPath, err)
	}
	id, err := identity.NewX509Identity(p.MSPID, cert)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(p.KeyPath)
	if err != nil {
		return nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.KeyPath, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, err
	}
	// The peers' TLS certificates carry 127.0.0.1 and localhost: no
	// server-name override.
	// gRPC's default 4 MiB message limit is too small for fedmeter: a rule
	// upload carries the module (up to 8 MiB, base64 in the arguments and raw
	// in the write set) in both the endorsement response and the submitted
	// transaction. Fabric's own nodes allow 100 MiB.
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMsgSize), grpc.MaxCallSendMsgSize(MaxMsgSize)))
	if err != nil {
		return nil, err
	}
	g, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(conn),
		client.WithEvaluateTimeout(30*time.Second), client.WithEndorseTimeout(60*time.Second),
		client.WithSubmitTimeout(30*time.Second), client.WithCommitStatusTimeout(2*time.Minute))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Conn{Gateway: g, grpc: conn}, nil
}
