package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	gw "github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"
)

// Profile is a connection profile: how to reach the fedmeter chaincode on a
// Fabric network through a peer's gateway service, and as whom. In YAML:
//
//	endpoint: peer0.org1.example.com:7051   # the peer's gateway (host:port)
//	tlsCACert: tls/ca.crt                    # PEM of the CA that signed the peer's TLS certificate
//	serverName: peer0.org1.example.com       # optional: TLS name to expect, if not the endpoint's host
//	mspID: Org1MSP
//	certPath: users/Admin@org1.example.com/msp/signcerts   # a PEM file, or a folder holding one
//	keyPath: users/Admin@org1.example.com/msp/keystore     # a PEM file, or a folder holding one
//	channel: channelall
//	chaincode: fedmeter
//	contract: ""                             # optional: contract name (default: the chaincode's default)
//	timeout: 30s                             # optional: per call
//	insecure: false                          # optional: plain gRPC, for a peer without TLS
//
// Relative paths are relative to the profile file's folder.
type Profile struct {
	Endpoint   string `yaml:"endpoint"`
	TLSCACert  string `yaml:"tlsCACert"`
	ServerName string `yaml:"serverName"`
	MSPID      string `yaml:"mspID"`
	CertPath   string `yaml:"certPath"`
	KeyPath    string `yaml:"keyPath"`
	Channel    string `yaml:"channel"`
	Chaincode  string `yaml:"chaincode"`
	Contract   string `yaml:"contract"`
	Timeout    string `yaml:"timeout"`
	Insecure   bool   `yaml:"insecure"`

	file string // where it was read from, for messages and relative paths
}

// LoadProfile reads and checks a connection profile.
func LoadProfile(file string) (*Profile, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		k := KindInvalid
		if errors.Is(err, os.ErrNotExist) {
			k = KindNotFound
		}
		return nil, Errorf(k, "the connection profile %s cannot be read: %v", file, errText(err)).
			WithHint("a connection profile is a YAML file; cli/README.md shows one")
	}
	var p Profile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, Errorf(KindInvalid, "the connection profile %s is not valid: %v", file, errText(err)).
			WithHint("its fields are endpoint, tlsCACert, serverName, mspID, certPath, keyPath, channel, chaincode, contract, timeout and insecure")
	}
	p.file = file
	return &p, p.check()
}

func (p *Profile) check() error {
	for _, f := range []struct{ name, v string }{
		{"endpoint", p.Endpoint}, {"mspID", p.MSPID}, {"certPath", p.CertPath}, {"keyPath", p.KeyPath},
		{"channel", p.Channel}, {"chaincode", p.Chaincode},
	} {
		if strings.TrimSpace(f.v) == "" {
			return Errorf(KindInvalid, "the connection profile %s has no %s", p.file, f.name).
				WithHint("add %s: to the profile; cli/README.md shows a complete one", f.name)
		}
	}
	if p.TLSCACert == "" && !p.Insecure {
		return Errorf(KindInvalid, "the connection profile %s has no tlsCACert", p.file).
			WithHint("give the peer's TLS CA certificate, or set insecure: true for a peer without TLS")
	}
	if p.Timeout != "" {
		if d, err := time.ParseDuration(p.Timeout); err != nil || d <= 0 {
			return Errorf(KindInvalid, "timeout %q in the connection profile %s is not a positive duration such as 30s", p.Timeout, p.file)
		}
	}
	return nil
}

func (p *Profile) path(s string) string {
	if s == "" || filepath.IsAbs(s) || p.file == "" {
		return s
	}
	return filepath.Join(filepath.Dir(p.file), s)
}

// readPEM reads a PEM file, or the first file of a folder (an MSP's
// signcerts/ or keystore/).
func (p *Profile) readPEM(field, s string) ([]byte, error) {
	path := p.path(s)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		ents, err := os.ReadDir(path)
		if err == nil {
			for _, e := range ents {
				if !e.IsDir() {
					path = filepath.Join(path, e.Name())
					break
				}
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, Errorf(KindInvalid, "%s %s in the connection profile %s cannot be read: %v", field, s, p.file, errText(err))
	}
	return b, nil
}

// Gateway is the Backend of a Fabric network: transactions go through a
// peer's gateway service (fabric-gateway), signed by the profile's
// identity. Submit returns once the transaction is committed.
type Gateway struct {
	prof     *Profile
	conn     *grpc.ClientConn
	gw       *gw.Gateway
	contract *gw.Contract
	mspID    string

	// OnRetry, if set, is called with each failed attempt that Submit
	// retries (an endorsement refused only by other orgs' peers, a
	// transaction that lost a conflict) before it tries again; the error
	// Submit finally returns is not passed to it. fmbench counts
	// endorsement mismatches and conflicts with it.
	OnRetry func(fn string, err error)

	// ConflictRetries is how many times Submit sends a transaction again
	// after the peers invalidated it because another transaction changed
	// what it read first (MVCC_READ_CONFLICT, PHANTOM_READ_CONFLICT), or
	// after its endorsers returned different results because one lagged a
	// block behind (ProposalResponsePayloads do not match).
	// Nothing of such a transaction is on the ledger, and endorsing it
	// again reads the new state, so sending it again is what the caller
	// would do by hand: two requests of one consumer's quota at once, for
	// one, both succeed this way, one after the other. DialGateway sets 5;
	// 0 returns the conflict instead.
	ConflictRetries int

	// UsageConflictRetries replaces ConflictRetries for UsageSubmit, if
	// larger. Every usage batch reads and writes the usage totals of the
	// resources it reports (chaincode/README.md, "Usage totals"), so
	// batches in flight together for the same resources conflict, all but
	// one per block; a batch is idempotent by record ID, so sending it
	// again is always safe. DialGateway sets 20.
	UsageConflictRetries int
}

// usageSubmit is the contract function whose conflicts
// UsageConflictRetries bounds.
const usageSubmit = "UsageSubmit"

// retryAfter says whether Submit sends fn again after attempt (from 0)
// failed with err, and how long it waits first.
func (g *Gateway) retryAfter(fn string, err error, attempt int) (time.Duration, bool) {
	if conflicted(err) || mismatched(err) {
		limit := g.ConflictRetries
		if fn == usageSubmit {
			limit = max(limit, g.UsageConflictRetries)
		}
		if attempt >= limit {
			return 0, false
		}
		// Jittered: transactions that conflicted once would otherwise
		// meet again in the same block.
		base := 50 * time.Millisecond << min(attempt, 4)
		return base + rand.N(base), true
	}
	if attempt >= 3 || !refusedOnlyElsewhere(err, g.mspID) {
		return 0, false
	}
	return 250 * time.Millisecond << attempt, true
}

// mismatched reports whether err is an endorsement whose peers returned
// different results ("ProposalResponsePayloads do not match"). Between
// fedmeter's deterministic contract and peers that agree on the state this
// means one endorser had not yet committed the block another had (a
// transaction reading keys a transaction just written, such as the usage
// totals of a resource two batches report): nothing was ordered, and
// endorsing again once the peers caught up gives one result. It is
// retried as a conflict is.
func mismatched(err error) bool {
	var ee *gw.EndorseError
	return errors.As(err, &ee) && strings.Contains(err.Error(), "ProposalResponsePayloads do not match")
}

// conflicted reports whether err is a transaction the peers invalidated
// for a read that another transaction changed first.
func conflicted(err error) bool {
	var ce *gw.CommitError
	return errors.As(err, &ce) && (ce.Code == peer.TxValidationCode_MVCC_READ_CONFLICT || ce.Code == peer.TxValidationCode_PHANTOM_READ_CONFLICT)
}

// DialGateway connects to the peer of profile p. gRPC connects lazily: an
// unreachable peer shows on the first transaction.
func DialGateway(ctx context.Context, p *Profile) (*Gateway, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	certPEM, err := p.readPEM("certPath", p.CertPath)
	if err != nil {
		return nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, Errorf(KindInvalid, "certPath %s in the connection profile %s holds no PEM certificate: %v", p.CertPath, p.file, errText(err))
	}
	id, err := identity.NewX509Identity(p.MSPID, cert)
	if err != nil {
		return nil, Errorf(KindInvalid, "the identity of the connection profile %s is not valid: %v", p.file, errText(err))
	}
	keyPEM, err := p.readPEM("keyPath", p.KeyPath)
	if err != nil {
		return nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, Errorf(KindInvalid, "keyPath %s in the connection profile %s holds no PEM private key: %v", p.KeyPath, p.file, errText(err))
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, Errorf(KindInvalid, "the private key of the connection profile %s cannot sign: %v", p.file, errText(err))
	}
	var creds credentials.TransportCredentials
	if p.Insecure {
		creds = insecure.NewCredentials()
	} else {
		caPEM, err := p.readPEM("tlsCACert", p.TLSCACert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, Errorf(KindInvalid, "tlsCACert %s in the connection profile %s holds no PEM certificate", p.TLSCACert, p.file)
		}
		creds = credentials.NewClientTLSFromCert(pool, p.ServerName)
	}
	// A rule module travels twice in an upload (the argument and the
	// written state), so 8 MiB modules need more than gRPC's 4 MiB default.
	conn, err := grpc.NewClient(p.Endpoint, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		return nil, Errorf(KindInvalid, "endpoint %q in the connection profile %s is not valid: %v", p.Endpoint, p.file, errText(err))
	}
	timeout := 30 * time.Second
	if p.Timeout != "" {
		timeout, _ = time.ParseDuration(p.Timeout)
	}
	g, err := gw.Connect(id, gw.WithSign(sign), gw.WithClientConnection(conn),
		gw.WithEvaluateTimeout(timeout), gw.WithEndorseTimeout(timeout),
		gw.WithSubmitTimeout(timeout), gw.WithCommitStatusTimeout(2*timeout))
	if err != nil {
		conn.Close()
		return nil, Errorf(KindInvalid, "the gateway of the connection profile %s cannot be set up: %v", p.file, errText(err))
	}
	c := g.GetNetwork(p.Channel).GetContractWithName(p.Chaincode, p.Contract)
	return &Gateway{prof: p, conn: conn, gw: g, contract: c, mspID: p.MSPID, ConflictRetries: 5, UsageConflictRetries: 20}, nil
}

// maxMessage bounds gRPC messages both ways: room for the largest module
// (host.ProfileV1.MaxModuleBytes) twice, base64-encoded, plus envelope.
const maxMessage = 32 << 20

// Submit endorses, orders and commits a transaction and returns its result.
//
// Submit returns once the gateway's own peer has committed, but another org's
// endorsing peer may still be a block behind; a transaction sent right after
// the one it depends on can then fail endorsement there alone. When only
// other orgs' peers refused, Submit tries again, up to three times, after
// 250, 500 and 1000 ms. A refusal by the caller's own org is the contract's
// answer and is returned at once.
func (g *Gateway) Submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		b, err := g.contract.SubmitWithContext(ctx, fn, gw.WithArguments(args...))
		if err == nil {
			return b, nil
		}
		wait, again := g.retryAfter(fn, err, attempt)
		if !again {
			e := g.wrap(fn, err)
			if ce, ok := e.(*Error); ok && attempt > 0 && conflicted(err) {
				ce.Hint = fmt.Sprintf("it was sent %d times and lost to other transactions changing the same data each time; send it again when they are done", attempt+1)
			}
			return nil, e
		}
		if g.OnRetry != nil {
			g.OnRetry(fn, err)
		}
		select {
		case <-ctx.Done():
			return nil, g.wrap(fn, err)
		case <-time.After(wait):
		}
	}
}

// refusedOnlyElsewhere reports whether err is an endorsement failure whose
// every failing endorser belongs to an org other than mspID.
func refusedOnlyElsewhere(err error, mspID string) bool {
	var ee *gw.EndorseError
	if !errors.As(err, &ee) {
		return false
	}
	n := 0
	for _, d := range status.Convert(err).Details() {
		ed, ok := d.(*gwproto.ErrorDetail)
		if !ok {
			continue
		}
		if ed.GetMspId() == mspID {
			return false
		}
		n++
	}
	return n > 0
}

// Evaluate runs a query on one peer.
func (g *Gateway) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	b, err := g.contract.EvaluateWithContext(ctx, fn, gw.WithArguments(args...))
	if err != nil {
		return nil, g.wrap(fn, err)
	}
	return b, nil
}

// MSPID is the profile's MSP ID.
func (g *Gateway) MSPID() string { return g.mspID }

// Profile is the connection profile the gateway was dialed with.
func (g *Gateway) Profile() *Profile { return g.prof }

// ErrorDetails returns the per-peer details a Fabric gateway attached to
// err ("address (MSP): message"), e.g. why each endorser refused; nil for
// errors without them (the embedded ledger's, or a local one).
func ErrorDetails(err error) []string {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var out []string
	for _, d := range st.Details() {
		if ed, ok := d.(*gwproto.ErrorDetail); ok {
			out = append(out, fmt.Sprintf("%s (%s): %s", ed.GetAddress(), ed.GetMspId(), ed.GetMessage()))
		}
	}
	return out
}

// Close closes the gateway and its connection.
func (g *Gateway) Close() error {
	g.gw.Close()
	return g.conn.Close()
}

var reChaincodeResponse = regexp.MustCompile(`chaincode response \d+, (.*)$`)

// wrap turns a fabric-gateway error into an *Error with the contract's own
// message when there is one.
func (g *Gateway) wrap(fn string, err error) error {
	var txID string
	var te *gw.TransactionError
	if errors.As(err, &te) {
		txID = te.TransactionID
	}
	var ce *gw.CommitError
	if errors.As(err, &ce) {
		e := &Error{Kind: KindLedger, Op: fn, TxID: ce.TransactionID, Err: err,
			Msg: fmt.Sprintf("%s was endorsed but not committed: the peers marked it %s", fn, ce.Code)}
		if strings.Contains(ce.Code.String(), "MVCC") || strings.Contains(ce.Code.String(), "PHANTOM") {
			e.Hint = "another transaction changed the same data first; send it again"
		}
		return e
	}
	st := status.Convert(err)
	for _, d := range st.Details() {
		if ed, ok := d.(*gwproto.ErrorDetail); ok {
			if m := reChaincodeResponse.FindStringSubmatch(ed.GetMessage()); m != nil {
				return contractError(fn, m[1], txID, err)
			}
		}
	}
	if m := reChaincodeResponse.FindStringSubmatch(st.Message()); m != nil {
		return contractError(fn, m[1], txID, err)
	}
	e := &Error{Kind: KindLedger, Op: fn, TxID: txID, Err: err}
	switch st.Code() {
	case codes.Unavailable:
		e.Msg = fmt.Sprintf("the gateway at %s cannot be reached: %s", g.prof.Endpoint, firstLine(st.Message()))
		e.Hint = fmt.Sprintf("check endpoint, tlsCACert and serverName in %s, and that the peer is running", g.prof.file)
	case codes.DeadlineExceeded:
		e.Msg = fmt.Sprintf("%s timed out at the gateway %s", fn, g.prof.Endpoint)
		e.Hint = "the network may be slow or down; raise timeout: in the profile or try again"
	case codes.PermissionDenied, codes.Unauthenticated:
		e.Kind = KindDenied
		e.Msg = fmt.Sprintf("the gateway %s refused the identity %s: %s", g.prof.Endpoint, g.mspID, firstLine(st.Message()))
		e.Hint = "check mspID, certPath and keyPath in the profile"
	case codes.NotFound:
		e.Kind = KindNotFound
		e.Msg = fmt.Sprintf("%s: %s", fn, firstLine(st.Message()))
		e.Hint = fmt.Sprintf("check channel (%s) and chaincode (%s) in the profile", g.prof.Channel, g.prof.Chaincode)
	default:
		e.Msg = fmt.Sprintf("%s failed at the gateway %s: %s", fn, g.prof.Endpoint, firstLine(st.Message()))
	}
	return e
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}
