package client_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeGateway is a peer's Gateway service that answers from a table: enough
// to drive the Gateway backend through fabric-gateway's real client (sign,
// evaluate, endorse, submit, commit status) without a Fabric network.
type fakeGateway struct {
	gateway.UnimplementedGatewayServer
	mu      sync.Mutex
	calls   []string                                  // "fn arg1 arg2 ..." in order
	answers map[string]func([]string) ([]byte, error) // by function name
	commit  map[string]peer.TxValidationCode          // by tx ID
	// conflicts is how many more times a function's transactions commit
	// as MVCC_READ_CONFLICT ("Conflict": always).
	conflicts map[string]int
}

func (g *fakeGateway) call(sp *peer.SignedProposal) (string, []byte, error) {
	var prop peer.Proposal
	if err := proto.Unmarshal(sp.GetProposalBytes(), &prop); err != nil {
		return "", nil, err
	}
	var ccp peer.ChaincodeProposalPayload
	if err := proto.Unmarshal(prop.GetPayload(), &ccp); err != nil {
		return "", nil, err
	}
	var cis peer.ChaincodeInvocationSpec
	if err := proto.Unmarshal(ccp.GetInput(), &cis); err != nil {
		return "", nil, err
	}
	var args []string
	for _, a := range cis.GetChaincodeSpec().GetInput().GetArgs() {
		args = append(args, string(a))
	}
	g.mu.Lock()
	g.calls = append(g.calls, strings.Join(args, " "))
	g.mu.Unlock()
	f := g.answers[args[0]]
	if f == nil {
		return args[0], nil, chaincodeErr("[unsupported] Function " + args[0] + " not found in contract fedmeter")
	}
	out, err := f(args[1:])
	return args[0], out, err
}

// chaincodeErr is how a Fabric gateway reports a contract's refusal.
func chaincodeErr(msg string) error {
	st, _ := status.New(codes.Aborted, "failed to endorse transaction, see attached details for more info").
		WithDetails(&gateway.ErrorDetail{Address: "peer0.org1.example.com:7051", MspId: "Org1MSP", Message: "chaincode response 500, " + msg})
	return st.Err()
}

func (g *fakeGateway) Evaluate(_ context.Context, r *gateway.EvaluateRequest) (*gateway.EvaluateResponse, error) {
	_, out, err := g.call(r.GetProposedTransaction())
	if err != nil {
		return nil, err
	}
	return &gateway.EvaluateResponse{Result: &peer.Response{Status: 200, Payload: out}}, nil
}

func (g *fakeGateway) Endorse(_ context.Context, r *gateway.EndorseRequest) (*gateway.EndorseResponse, error) {
	fn, out, err := g.call(r.GetProposedTransaction())
	if err != nil {
		return nil, err
	}
	code := peer.TxValidationCode_VALID
	g.mu.Lock()
	if fn == "Conflict" {
		code = peer.TxValidationCode_MVCC_READ_CONFLICT
	} else if g.conflicts[fn] > 0 {
		code = peer.TxValidationCode_MVCC_READ_CONFLICT
		g.conflicts[fn]--
	}
	g.commit[r.GetTransactionId()] = code
	g.mu.Unlock()
	m := func(x proto.Message) []byte { b, _ := proto.Marshal(x); return b }
	action := m(&peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{
		ProposalResponsePayload: m(&peer.ProposalResponsePayload{Extension: m(&peer.ChaincodeAction{Response: &peer.Response{Status: 200, Payload: out}})}),
	}})
	payload := m(&common.Payload{
		Header: &common.Header{ChannelHeader: m(&common.ChannelHeader{ChannelId: r.GetChannelId(), TxId: r.GetTransactionId()})},
		Data:   m(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: action}}}),
	})
	return &gateway.EndorseResponse{PreparedTransaction: &common.Envelope{Payload: payload}}, nil
}

func (g *fakeGateway) Submit(context.Context, *gateway.SubmitRequest) (*gateway.SubmitResponse, error) {
	return &gateway.SubmitResponse{}, nil
}

func (g *fakeGateway) CommitStatus(_ context.Context, r *gateway.SignedCommitStatusRequest) (*gateway.CommitStatusResponse, error) {
	var req gateway.CommitStatusRequest
	if err := proto.Unmarshal(r.GetRequest(), &req); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return &gateway.CommitStatusResponse{Result: g.commit[req.GetTransactionId()], BlockNumber: 7}, nil
}

// startGateway serves g on a local port and writes a connection profile for
// it (plain gRPC) with a freshly issued identity; it returns the profile.
func startGateway(t *testing.T, g *fakeGateway) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(100<<20), grpc.MaxSendMsgSize(100<<20)) // as a Fabric peer
	gateway.RegisterGatewayServer(srv, g)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return writeProfile(t, lis.Addr().String(), "insecure: true\n")
}

func writeProfile(t *testing.T, endpoint, extra string) string {
	t.Helper()
	dir := t.TempDir()
	ca, err := msp.NewCA("Org1MSP", "org1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.Issue(msp.UserSpec{Name: "Admin", Role: msp.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Join(dir, "id", "signcerts"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "id", "signcerts", "cert.pem"), id.CertPEM, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "id", "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	prof := filepath.Join(dir, "org1.yaml")
	must(t, os.WriteFile(prof, []byte("endpoint: "+endpoint+"\nmspID: Org1MSP\ncertPath: id/signcerts\nkeyPath: id/key.pem\n"+
		"channel: channelall\nchaincode: fedmeter\ntimeout: 5s\n"+extra), 0o600))
	return prof
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestGatewayBackend(t *testing.T) {
	g := &fakeGateway{commit: map[string]peer.TxValidationCode{}, answers: map[string]func([]string) ([]byte, error){
		"ConsortiumGet": func([]string) ([]byte, error) {
			return []byte(`{"members":["Org1MSP","Org2MSP"],"policy":{"kind":"majority"},"types":[],"version":1}`), nil
		},
		"ResourceGet": func(a []string) ([]byte, error) {
			return nil, chaincodeErr("[not_found] resource_id " + a[0] + " names no resource")
		},
		"BillGet": func(a []string) ([]byte, error) {
			return nil, chaincodeErr("[denied] only Org1MSP (provider) and Org2MSP (consumer) may read bill " + a[0] + "; the caller is an admin of Org3MSP")
		},
		"UsageSubmit": func(a []string) ([]byte, error) {
			return []byte(`{"accepted":1,"duplicates":[]}`), nil
		},
		"Conflict": func([]string) ([]byte, error) { return []byte(`{}`), nil },
	}}
	prof := startGateway(t, g)
	ctx := context.Background()
	b, err := client.Dial(ctx, prof)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Close()
	if b.MSPID() != "Org1MSP" {
		t.Fatalf("MSPID %q", b.MSPID())
	}
	c := client.New(b)

	cons, err := c.Consortium(ctx)
	if err != nil || len(cons.Members) != 2 {
		t.Fatalf("Consortium: %+v, %v", cons, err)
	}
	rep, err := c.SubmitUsage(ctx, []client.UsageRecord{{ID: "u-1", Resource: "ecs-1", Metric: "egress_gib", Quantity: 3, Start: 10, End: 20}}, client.UsageOptions{})
	if err != nil || rep.Accepted != 1 || rep.Batches != 1 {
		t.Fatalf("SubmitUsage (endorse, submit, commit): %+v, %v", rep, err)
	}

	for _, tc := range []struct {
		name string
		run  func() error
		kind client.Kind
		msg  string
	}{
		{"not found", func() error { _, err := c.Resource(ctx, "nope"); return err }, client.KindNotFound, "resource_id nope names no resource"},
		{"denied", func() error { _, err := c.Bill(ctx, "r:000001"); return err }, client.KindDenied, "only Org1MSP (provider)"},
		{"unknown function", func() error { _, err := c.Quota(ctx, "Org1MSP", "Org2MSP"); return err }, client.KindInvalid, "the contract on the ledger refused QuotaGet"},
		{"mvcc conflict", func() error { _, err := b.Submit(ctx, "Conflict"); return err }, client.KindLedger, "MVCC_READ_CONFLICT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Kind != tc.kind || !strings.Contains(ce.Msg, tc.msg) {
				t.Fatalf("got %#v; want kind %v and %q", err, tc.kind, tc.msg)
			}
			if strings.Contains(ce.Msg, "\n") {
				t.Fatalf("message spans lines: %q", ce.Msg)
			}
		})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if got := g.calls[1]; got != `UsageSubmit [["ecs-1","egress_gib",3,10,20,"u-1"]]` {
		t.Fatalf("the gateway saw %q", got)
	}
}

func TestGatewayUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	prof := writeProfile(t, addr, "insecure: true\n")
	b, err := client.Dial(context.Background(), prof)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = client.New(b).Consortium(context.Background())
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != client.KindLedger || !strings.Contains(ce.Msg, "cannot be reached") || ce.Hint == "" {
		t.Fatalf("got %#v", err)
	}
}

func TestLoadProfile(t *testing.T) {
	good := writeProfile(t, "localhost:7051", "tlsCACert: id/signcerts/cert.pem\n")
	if _, err := client.LoadProfile(good); err != nil {
		t.Fatalf("good profile: %v", err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		kind       client.Kind
		msg        string
	}{
		{"missing endpoint", "mspID: A\ncertPath: c\nkeyPath: k\nchannel: c\nchaincode: f\ninsecure: true\n", client.KindInvalid, "has no endpoint"},
		{"missing TLS", "endpoint: h:1\nmspID: A\ncertPath: c\nkeyPath: k\nchannel: c\nchaincode: f\n", client.KindInvalid, "has no tlsCACert"},
		{"unknown field", "endpoint: h:1\nmspid: A\n", client.KindInvalid, "is not valid"},
		{"bad timeout", "endpoint: h:1\nmspID: A\ncertPath: c\nkeyPath: k\nchannel: c\nchaincode: f\ninsecure: true\ntimeout: soon\n", client.KindInvalid, "timeout \"soon\""},
		{"not yaml", "endpoint: [\n", client.KindInvalid, "is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			must(t, os.WriteFile(f, []byte(tc.yaml), 0o600))
			_, err := client.LoadProfile(f)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Kind != tc.kind || !strings.Contains(ce.Msg, tc.msg) {
				t.Fatalf("got %v; want %q", err, tc.msg)
			}
		})
	}
	if _, err := client.LoadProfile(filepath.Join(dir, "absent.yaml")); client.KindOf(err) != client.KindNotFound {
		t.Fatalf("absent profile: %v", err)
	}
	// A profile whose certificate file is missing fails at dial, naming it.
	bad := filepath.Join(dir, "badcert.yaml")
	must(t, os.WriteFile(bad, []byte("endpoint: h:1\nmspID: A\ncertPath: nowhere.pem\nkeyPath: k\nchannel: c\nchaincode: f\ninsecure: true\n"), 0o600))
	if _, err := client.Dial(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "certPath nowhere.pem") {
		t.Fatalf("bad cert: %v", err)
	}
}

// refusedBy is an endorsement refusal reported by a peer of org mspID.
func refusedBy(mspID, msg string) error {
	st, _ := status.New(codes.Aborted, "failed to endorse transaction, see attached details for more info").
		WithDetails(&gateway.ErrorDetail{Address: "peer0." + mspID + ":7051", MspId: mspID, Message: "chaincode response 500, " + msg})
	return st.Err()
}

// TestGatewayRetriesLaggingOrgs: a refusal by another org's peer alone (a peer
// a block behind) is tried again; a refusal by the caller's own org is final;
// and messages beyond gRPC's 4 MiB default get through.
// TestGatewayRetriesConflicts: a transaction that lost a conflict (nothing
// of it committed) is endorsed and sent again, up to ConflictRetries times.
func TestGatewayRetriesConflicts(t *testing.T) {
	ok := func([]string) ([]byte, error) { return []byte(`{}`), nil }
	g := &fakeGateway{commit: map[string]peer.TxValidationCode{}, conflicts: map[string]int{"ConflictTwice": 2},
		answers: map[string]func([]string) ([]byte, error){"ConflictTwice": ok, "Conflict": ok}}
	b, err := client.Dial(context.Background(), startGateway(t, g))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	gwb := b
	var retried []string
	gwb.OnRetry = func(fn string, err error) { retried = append(retried, fn) }
	if _, err := b.Submit(context.Background(), "ConflictTwice"); err != nil || len(retried) != 2 {
		t.Fatalf("err %v after %d retries, want success on the third attempt", err, len(retried))
	}
	retried = nil
	gwb.ConflictRetries = 1
	if _, err := b.Submit(context.Background(), "Conflict"); err == nil || !strings.Contains(err.Error(), "MVCC_READ_CONFLICT") || len(retried) != 1 {
		t.Fatalf("err %v after %d retries, want the conflict after one", err, len(retried))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		if c == "Conflict" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("Conflict was sent %d times, want 2 (ConflictRetries 1)", n)
	}
}

// TestGatewayRetriesUsageConflicts: a usage batch that lost a conflict is
// sent again up to UsageConflictRetries times, more than other
// transactions (every batch for a resource writes its usage totals).
func TestGatewayRetriesUsageConflicts(t *testing.T) {
	ok := func([]string) ([]byte, error) { return []byte(`{"accepted":1,"duplicates":[]}`), nil }
	g := &fakeGateway{commit: map[string]peer.TxValidationCode{}, conflicts: map[string]int{"UsageSubmit": 3, "Other": 3},
		answers: map[string]func([]string) ([]byte, error){"UsageSubmit": ok, "Other": ok}}
	b, err := client.Dial(context.Background(), startGateway(t, g))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.ConflictRetries, b.UsageConflictRetries = 1, 3
	retried := 0
	b.OnRetry = func(string, error) { retried++ }
	if _, err := b.Submit(context.Background(), "UsageSubmit", "[]"); err != nil || retried != 3 {
		t.Fatalf("UsageSubmit: err %v after %d retries, want success on the fourth attempt", err, retried)
	}
	retried = 0
	if _, err := b.Submit(context.Background(), "Other"); err == nil || !strings.Contains(err.Error(), "MVCC_READ_CONFLICT") || retried != 1 {
		t.Fatalf("Other: err %v after %d retries, want the conflict after one (ConflictRetries)", err, retried)
	}
}

func TestGatewayRetriesLaggingOrgs(t *testing.T) {
	lagging := 0
	big := bytes.Repeat([]byte("x"), 6<<20)
	g := &fakeGateway{commit: map[string]peer.TxValidationCode{}, answers: map[string]func([]string) ([]byte, error){
		"Lagging": func([]string) ([]byte, error) {
			if lagging++; lagging < 3 {
				return nil, refusedBy("Org2MSP", "[not_found] the consortium is not initialized")
			}
			return []byte(`{}`), nil
		},
		"Refused": func([]string) ([]byte, error) { return nil, refusedBy("Org1MSP", "[quota_exceeded] quota exceeded") },
		"Big":     func(a []string) ([]byte, error) { return big[:len(a[0])], nil },
	}}
	b, err := client.Dial(context.Background(), startGateway(t, g))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Submit(context.Background(), "Lagging"); err != nil || lagging != 3 {
		t.Fatalf("lagging org: err %v after %d tries, want success on the third", err, lagging)
	}
	if _, err := b.Submit(context.Background(), "Refused"); err == nil || !strings.Contains(err.Error(), "quota exceeded") {
		t.Fatalf("own org's refusal: err %v", err)
	}
	g.mu.Lock()
	refusals := strings.Count(strings.Join(g.calls, "\n"), "Refused")
	g.mu.Unlock()
	if refusals != 1 {
		t.Fatalf("own org's refusal was tried %d times, want once", refusals)
	}
	out, err := b.Evaluate(context.Background(), "Big", string(big[:5<<20]))
	if err != nil || len(out) != 5<<20 {
		t.Fatalf("5 MiB each way: %d bytes, %v", len(out), err)
	}
}

// TestGatewayRetriesMismatches: an endorsement whose peers disagreed (one a
// block behind the other) is endorsed again, as a conflict is, up to
// UsageConflictRetries for a usage batch and ConflictRetries otherwise.
func TestGatewayRetriesMismatches(t *testing.T) {
	mismatch := status.New(codes.Aborted, "failed to assemble transaction: ProposalResponsePayloads do not match (base64): 'eyJhIjoxfQ==' vs 'eyJhIjoyfQ=='").Err()
	tries := map[string]int{}
	flaky := func(fn string, n int) func([]string) ([]byte, error) {
		return func([]string) ([]byte, error) {
			if tries[fn]++; tries[fn] <= n {
				return nil, mismatch
			}
			return []byte(`{"accepted":1,"duplicates":[]}`), nil
		}
	}
	g := &fakeGateway{commit: map[string]peer.TxValidationCode{}, answers: map[string]func([]string) ([]byte, error){
		"UsageSubmit": flaky("UsageSubmit", 3), "Other": flaky("Other", 3)}}
	b, err := client.Dial(context.Background(), startGateway(t, g))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.ConflictRetries, b.UsageConflictRetries = 1, 3
	if _, err := b.Submit(context.Background(), "UsageSubmit", "[]"); err != nil || tries["UsageSubmit"] != 4 {
		t.Fatalf("UsageSubmit: err %v after %d tries, want success on the fourth", err, tries["UsageSubmit"])
	}
	if _, err := b.Submit(context.Background(), "Other"); err == nil || !strings.Contains(err.Error(), "do not match") || tries["Other"] != 2 {
		t.Fatalf("Other: err %v after %d tries, want the mismatch after two (ConflictRetries 1)", err, tries["Other"])
	}
}
