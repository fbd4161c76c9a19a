package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Server is a Backend that sends each transaction to a fedmeter server
// (fedmeter serve) as the identity of a token, through the server's
// POST /api/v1/tx/{fn}. While a server holds an embedded ledger, this is
// how every other client reaches it: the server is the ledger's one writer.
type Server struct {
	base  *url.URL
	token string
	http  *http.Client
	msp   string
}

// DialServer connects to the server at base (e.g. http://127.0.0.1:8080)
// with a bearer token (fedmeter serve token create), and asks it which
// identity the token acts as. hc may be nil (http.DefaultClient).
func DialServer(ctx context.Context, base, token string, hc *http.Client) (*Server, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &Error{Kind: KindInvalid, Op: "DialServer", Msg: fmt.Sprintf("%q is not a server URL (http://HOST:PORT or https://...)", base)}
	}
	if token == "" {
		return nil, &Error{Kind: KindDenied, Op: "DialServer", Msg: "no token for the server at " + u.String(),
			Hint: "a server's admin creates one with fedmeter serve token create --as ORG/USER"}
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	s := &Server{base: u, token: token, http: hc}
	var who struct {
		MSPID string `json:"msp_id"`
	}
	b, err := s.do(ctx, http.MethodGet, "/api/v1/whoami", nil, "whoami")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &who); err != nil || who.MSPID == "" {
		return nil, &Error{Kind: KindInternal, Op: "whoami", Msg: "the server at " + u.String() + " did not say which identity the token acts as"}
	}
	s.msp = who.MSPID
	return s, nil
}

// Submit runs a transaction that writes, through the server.
func (s *Server) Submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	return s.tx(ctx, fn, args, false)
}

// Evaluate runs a query, through the server.
func (s *Server) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	return s.tx(ctx, fn, args, true)
}

// MSPID is the MSP ID of the token's identity.
func (s *Server) MSPID() string { return s.msp }

// Close does nothing: each call is a request of its own.
func (s *Server) Close() error { return nil }

func (s *Server) tx(ctx context.Context, fn string, args []string, query bool) ([]byte, error) {
	if args == nil {
		args = []string{}
	}
	body, _ := json.Marshal(struct {
		Args  []string `json:"args"`
		Query bool     `json:"query,omitempty"`
	}{args, query})
	return s.do(ctx, http.MethodPost, "/api/v1/tx/"+url.PathEscape(fn), body, fn)
}

// do sends one request and returns the body of a success, or the server's
// problem document as an *Error with its kind, code, op, tx and hint.
func (s *Server) do(ctx context.Context, method, path string, body []byte, op string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: KindInternal, Op: op, Msg: "the request cannot be made: " + err.Error(), Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, &Error{Kind: KindLedger, Op: op, Msg: "the server at " + s.base.String() + " cannot be reached: " + errText(err), Err: err,
			Hint: "check that fedmeter serve runs there"}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &Error{Kind: KindLedger, Op: op, Msg: "the server's answer was cut: " + errText(err), Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	return nil, problemError(resp.StatusCode, b, op)
}

// problemError turns a server's problem document into an *Error: the same
// kind, code and sentence the server's own client got.
func problemError(status int, b []byte, op string) *Error {
	var p struct {
		Detail string `json:"detail"`
		Code   string `json:"code"`
		Kind   string `json:"kind"`
		Op     string `json:"op"`
		TxID   string `json:"tx"`
		Hint   string `json:"hint"`
	}
	if json.Unmarshal(b, &p) != nil || p.Detail == "" {
		return &Error{Kind: KindLedger, Op: op, Msg: fmt.Sprintf("the server answered %d without a problem document", status)}
	}
	e := &Error{Kind: kindNamed(p.Kind, status), Op: p.Op, Msg: strings.TrimSuffix(p.Detail, "."), Hint: p.Hint, TxID: p.TxID, Code: model.Code(p.Code)}
	if e.Op == "" {
		e.Op = op
	}
	return e
}

// kindNamed is the Kind a problem's kind names; the server's own kinds
// (unauthenticated, method_not_allowed, too_large, ...) by their status.
func kindNamed(name string, status int) Kind {
	for k := KindInvalid; k <= KindBusy; k++ {
		if k.String() == name {
			return k
		}
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindDenied
	case status == http.StatusNotFound:
		return KindNotFound
	case status >= 500:
		return KindLedger
	}
	return KindInvalid
}
