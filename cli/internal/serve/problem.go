package serve

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// Problem is an error response, RFC 9457's application/problem+json, with
// fedmeter's members: the contract's refusal code (code, when the contract
// refused), the client's kind (kind: invalid, not_found, denied, rule,
// mismatch, ledger, internal, busy; or the server's own: unauthenticated,
// not_found, method_not_allowed, too_large, unsupported_media_type,
// timeout, unsupported), the transaction (op, tx) and a hint.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code,omitempty"`
	Kind     string `json:"kind"`
	Op       string `json:"op,omitempty"`
	TxID     string `json:"tx,omitempty"`
	Hint     string `json:"hint,omitempty"`
}

// problemType is the type URI of a problem: a tag of fedmeter's and the
// code or kind it is about. The documentation of each is
// cli/README.md's "fedmeter serve" and chaincode/README.md's refusal codes.
func problemType(name string) string { return "tag:fedmeter.dev,2026:problem/" + name }

// codeStatus is the HTTP status of each refusal code of the contract.
var codeStatus = map[model.Code]int{
	model.CodeBadArgument:   http.StatusBadRequest,
	model.CodeNotFound:      http.StatusNotFound,
	model.CodeNotMember:     http.StatusForbidden,
	model.CodeDenied:        http.StatusForbidden,
	model.CodeConflict:      http.StatusConflict,
	model.CodeQuotaExceeded: http.StatusUnprocessableEntity,
	model.CodeRuleFailed:    http.StatusUnprocessableEntity,
	model.CodeLedger:        http.StatusServiceUnavailable,
	model.CodeUnsupported:   http.StatusInternalServerError, // this server and the chaincode differ
	model.CodeInternal:      http.StatusInternalServerError,
}

// kindStatus is the HTTP status of an error without a refusal code.
var kindStatus = map[client.Kind]int{
	client.KindInvalid:  http.StatusBadRequest,
	client.KindNotFound: http.StatusNotFound,
	client.KindDenied:   http.StatusForbidden,
	client.KindRule:     http.StatusUnprocessableEntity,
	client.KindMismatch: http.StatusInternalServerError, // the ledger was altered on disk
	client.KindLedger:   http.StatusServiceUnavailable,
	client.KindInternal: http.StatusInternalServerError,
	client.KindBusy:     http.StatusServiceUnavailable,
}

// problemOf is the problem document of err.
func problemOf(err error, instance string) *Problem {
	var ce *client.Error
	if !errors.As(err, &ce) {
		ce = &client.Error{Kind: client.KindInternal, Msg: "internal error: " + firstLine(err.Error()), Err: err}
	}
	p := &Problem{Detail: sentence(ce.Msg), Kind: ce.Kind.String(), Op: ce.Op, TxID: ce.TxID, Hint: ce.Hint, Instance: instance}
	if ce.Code != "" {
		p.Code = string(ce.Code)
		p.Status = codeStatus[ce.Code]
		p.Type = problemType(p.Code)
	}
	if p.Status == 0 {
		p.Status = kindStatus[ce.Kind]
		if p.Status == 0 {
			p.Status = http.StatusInternalServerError
		}
		p.Type = problemType(p.Kind)
	}
	p.Title = http.StatusText(p.Status)
	return p
}

// newProblem is a problem of the server's own (no contract involved).
func newProblem(status int, kind, detail, hint string) *Problem {
	return &Problem{Type: problemType(kind), Title: http.StatusText(status), Status: status, Detail: detail, Kind: kind, Hint: hint}
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="fedmeter"`)
	}
	if p.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(p.Status)
	b, _ := json.Marshal(p)
	w.Write(append(b, '\n'))
}

func sentence(s string) string {
	s = strings.TrimSuffix(firstLine(s), ".")
	if s == "" {
		return "failed"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
