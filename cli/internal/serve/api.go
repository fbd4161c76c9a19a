package serve

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/verify"
)

// apiFunc handles a route of the API as the request's caller: it returns
// the status and the document to write, or an error (a problem).
type apiFunc func(r *http.Request, c *client.Client) (int, any, error)

func (s *Server) api(f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cl := callerOf(r)
		status, v, err := f(r, cl.c)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeProblem(w, r, newProblem(http.StatusRequestEntityTooLarge, "too_large",
					"the request body is over the server's limit of "+strconv.FormatInt(mbe.Limit, 10)+" bytes",
					"send usage in smaller batches"))
				return
			}
			if p, ok := err.(*Problem); ok {
				writeProblem(w, r, p)
				return
			}
			if p := bodyProblem(err); p != nil { // a slow client (httpserver.go)
				writeProblem(w, r, p)
				return
			}
			writeProblem(w, r, problemOf(err, ""))
			return
		}
		writeJSON(w, status, v)
	}
}

func (p *Problem) Error() string { return p.Detail }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeProblem(w, nil, newProblem(http.StatusInternalServerError, "internal", "the response cannot be encoded: "+err.Error(), ""))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// routes is every route of the server. /openapi.json describes them
// (openapi.go); TestOpenAPICoversRoutes holds the two to each other.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /metrics", s.metricsHandler)
	m.HandleFunc("GET /openapi.json", s.openapiHandler)

	// read side
	m.HandleFunc("GET /api/v1/whoami", s.api(s.whoami))
	m.HandleFunc("GET /api/v1/bills", s.api(s.listBills))
	m.HandleFunc("GET /api/v1/bills/{id}", s.api(s.getBill))
	m.HandleFunc("GET /api/v1/bills/{id}/verify", s.api(s.verifyBill))
	m.HandleFunc("GET /api/v1/totals", s.api(s.totals))
	m.HandleFunc("GET /api/v1/prices", s.api(s.listPrices))
	m.HandleFunc("GET /api/v1/prices/{provider}/{type}", s.api(s.getPrice))
	m.HandleFunc("GET /api/v1/prices/{provider}/{type}/history", s.api(s.priceHistory))
	m.HandleFunc("GET /api/v1/quotas/{provider}/{consumer}", s.api(s.getQuota))
	m.HandleFunc("GET /api/v1/resources", s.api(s.listResources))
	m.HandleFunc("GET /api/v1/resources/{id}", s.api(s.getResource))
	m.HandleFunc("GET /api/v1/resources/{id}/usage", s.api(s.listUsage))
	m.HandleFunc("GET /api/v1/rules", s.api(s.listRules))
	m.HandleFunc("GET /api/v1/rules/{ref}", s.api(s.getRule))
	m.HandleFunc("GET /api/v1/members", s.api(s.members))
	m.HandleFunc("GET /api/v1/proposals", s.api(s.listProposals))
	m.HandleFunc("GET /api/v1/proposals/{id}", s.api(s.getProposal))
	m.HandleFunc("GET /api/v1/history/{key...}", s.api(s.history))
	m.HandleFunc("GET /api/v1/ledger", s.api(s.ledgerInfo))

	// write side
	m.HandleFunc("POST /api/v1/usage", s.api(s.submitUsage))
	m.HandleFunc("POST /api/v1/resources", s.api(s.requestResource))
	m.HandleFunc("POST /api/v1/resources/{id}/activate", s.api(s.activateResource))
	m.HandleFunc("POST /api/v1/resources/{id}/release", s.api(s.releaseResource))
	m.HandleFunc("POST /api/v1/resources/{id}/bills", s.api(s.closeBill))
	m.HandleFunc("POST /api/v1/rules/{ref}/votes", s.api(s.voteRule))
	m.HandleFunc("POST /api/v1/proposals/{id}/votes", s.api(s.voteProposal))
	m.HandleFunc("POST /api/v1/tx/{fn}", s.api(s.transaction))
	// api_write.go
	m.HandleFunc("POST /api/v1/prices/{provider}/{type}", s.api(s.setPrice))
	m.HandleFunc("POST /api/v1/quotas/{provider}/{consumer}", s.api(s.setQuota))
	m.HandleFunc("POST /api/v1/rules", s.api(s.uploadRule))
	m.HandleFunc("POST /api/v1/rules/{ref}/activations", s.api(s.activateRule))
	m.HandleFunc("POST /api/v1/rules/{ref}/revocation", s.api(s.proposeRevocation))
	m.HandleFunc("POST /api/v1/proposals", s.api(s.propose))

	// settlement (api_settle.go)
	m.HandleFunc("GET /api/v1/statements", s.api(s.listStatements))
	m.HandleFunc("GET /api/v1/statements/{id}", s.api(s.getStatement))
	m.HandleFunc("GET /api/v1/statements/{id}/export.csv", s.exportStatement)
	m.HandleFunc("POST /api/v1/statements", s.api(s.issueStatement))
	m.HandleFunc("POST /api/v1/statements/{id}/acknowledge", s.api(s.acknowledgeStatement))
	m.HandleFunc("POST /api/v1/statements/{id}/dispute", s.api(s.disputeStatement))
	m.HandleFunc("POST /api/v1/statements/{id}/payments", s.api(s.recordPayment))
	m.HandleFunc("POST /api/v1/statements/{id}/payments/{reference}/confirm", s.api(s.confirmPayment))
	m.HandleFunc("POST /api/v1/statements/{id}/void", s.api(s.voidStatement))
	m.HandleFunc("POST /api/v1/bills/{id}/credits", s.api(s.creditBill))
	m.HandleFunc("GET /api/v1/allocations", s.api(s.listAllocations))
	// api_alloc.go
	m.HandleFunc("POST /api/v1/allocations", s.api(s.grantAllocation))
	m.HandleFunc("POST /api/v1/allocations/{provider}/{consumer}/{id}/topups", s.api(s.topUpAllocation))
	m.HandleFunc("POST /api/v1/resources/{id}/usage/corrections", s.api(s.correctUsage))
	m.HandleFunc("POST /api/v1/rerates", s.api(s.rerateBills))

	// events and webhooks (events.go, webhooks.go)
	m.HandleFunc("GET /api/v1/events", s.eventsHandler)
	m.HandleFunc("GET /api/v1/webhooks/deliveries", s.api(s.listDeliveries))

	m.HandleFunc("/", s.notFound)
	return m
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	// A path of the API with another method: 405 with Allow.
	var allow []string
	for _, m := range []string{"GET", "POST"} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, r, newProblem(http.StatusMethodNotAllowed, "method_not_allowed",
			r.Method+" is not a method of "+r.URL.Path+" (allowed: "+strings.Join(allow, ", ")+")", "/openapi.json lists the routes"))
		return
	}
	writeProblem(w, r, newProblem(http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path,
		"/openapi.json lists the routes"))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	height := int64(-1)
	if s.emb != nil {
		if led := s.emb.Ledger(); led != nil {
			if h, _, err := led.Height(); err == nil {
				height = int64(h)
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w, height)
}

// ---- arguments ----

func badArg(format string, args ...any) error {
	return client.Errorf(client.KindInvalid, format, args...)
}

// timeParam reads a time query parameter: RFC 3339 or Unix seconds.
func timeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badArg("query parameter %s %q is not a time: it must be RFC 3339 (2026-01-01T00:00:00Z) or Unix seconds", name, v)
	}
	return t, nil
}

func unixArg(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// oneOf reads a query parameter that must be one of values ("" allowed).
func oneOf(r *http.Request, name string, values ...string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", nil
	}
	for _, x := range values {
		if v == x {
			return v, nil
		}
	}
	return "", badArg("query parameter %s %q is not valid: it must be %s", name, v, strings.Join(values, " or "))
}

// ---- pages ----

// Page is a page of a list: its items and, when more follow, the token of
// the next page (page_token).
type Page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// pageToken is what a page token carries: the query it belongs to (a hash
// of the list and its filters), the phase (bills of both roles are the
// provider's, then the consumer's) and the contract's bookmark.
type pageToken struct {
	Query    string `json:"q"`
	Phase    int    `json:"p,omitempty"`
	Bookmark string `json:"b"`
}

func queryHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

// pageParams reads page_size (1 to 500, default 50) and page_token.
func pageParams(r *http.Request, query string) (size string, tok pageToken, err error) {
	size = "50"
	if v := r.URL.Query().Get("page_size"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 500 {
			return "", tok, badArg("query parameter page_size %q is not valid: it must be an integer from 1 to 500", v)
		}
		size = v
	}
	tok.Query = query
	if v := r.URL.Query().Get("page_token"); v != "" {
		b, derr := base64.RawURLEncoding.DecodeString(v)
		var t pageToken
		if derr != nil || json.Unmarshal(b, &t) != nil || t.Bookmark == "" {
			return "", tok, badArg("query parameter page_token is not a page token of this server")
		}
		if t.Query != query {
			return "", tok, badArg("query parameter page_token belongs to another list or other filters: pass the same filters as for the first page")
		}
		tok = t
	}
	return size, tok, nil
}

func (t pageToken) String() string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

// listPage runs one page of the contract's list transaction fn (args are
// those before page_size and bookmark).
func listPage[T any](r *http.Request, c *client.Client, fn string, args ...string) (*Page[T], error) {
	return phasedPage[T](r, c, append([]string{fn}, args...))
}

// phasedPage runs one page of a list made of several of the contract's
// lists one after the other (bills or resources of both roles: the
// provider's, then the consumer's). Each phase is a transaction and its
// arguments before page_size and bookmark.
func phasedPage[T any](r *http.Request, c *client.Client, phases ...[]string) (*Page[T], error) {
	var q []string
	for _, ph := range phases {
		q = append(q, ph...)
		q = append(q, "|")
	}
	size, tok, err := pageParams(r, queryHash(q...))
	if err != nil {
		return nil, err
	}
	if tok.Phase < 0 || tok.Phase >= len(phases) {
		return nil, badArg("query parameter page_token is not a page token of this server")
	}
	// A phase that ends before the page is full goes on into the next.
	want, _ := strconv.Atoi(size)
	p := &Page[T]{Items: []T{}}
	for phase, bookmark := tok.Phase, tok.Bookmark; ; {
		if bookmark == "-" { // the start of a phase
			bookmark = ""
		}
		ph := phases[phase]
		items, next, err := evalPage[T](r, c, ph[0], append(append([]string{}, ph[1:]...), strconv.Itoa(want-len(p.Items)), bookmark)...)
		if err != nil {
			return nil, err
		}
		p.Items = append(p.Items, items...)
		if next != "" && next != bookmark {
			p.NextPageToken = pageToken{Query: tok.Query, Phase: phase, Bookmark: next}.String()
			break
		}
		if phase++; phase >= len(phases) {
			break
		}
		bookmark = "-"
		if len(p.Items) >= want {
			// The next phase starts from its beginning: "-" stands for an
			// empty bookmark, which a token does not carry.
			p.NextPageToken = pageToken{Query: tok.Query, Phase: phase, Bookmark: bookmark}.String()
			break
		}
	}
	return p, nil
}

func evalPage[T any](r *http.Request, c *client.Client, fn string, args ...string) ([]T, string, error) {
	b, err := c.Backend().Evaluate(r.Context(), fn, args...)
	if err != nil {
		return nil, "", err
	}
	var p model.Page[T]
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, "", &client.Error{Kind: client.KindInternal, Op: fn, Err: err, Msg: fn + " returned a result this server cannot read: " + err.Error()}
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p.Items, p.Bookmark, nil
}

// ---- read side ----

// Whoami is the identity a token acts as.
type Whoami struct {
	As      string `json:"as"`
	MSPID   string `json:"msp_id"`
	TokenID string `json:"token_id"`
}

func (s *Server) whoami(r *http.Request, c *client.Client) (int, any, error) {
	t := callerOf(r).tok
	return 200, Whoami{As: t.As, MSPID: c.MSPID(), TokenID: t.ID}, nil
}

func (s *Server) listBills(r *http.Request, c *client.Client) (int, any, error) {
	role, err := oneOf(r, "role", "provider", "consumer")
	if err != nil {
		return 0, nil, err
	}
	from, err := timeParam(r, "from")
	if err != nil {
		return 0, nil, err
	}
	to, err := timeParam(r, "to")
	if err != nil {
		return 0, nil, err
	}
	if res := r.URL.Query().Get("resource"); res != "" {
		if role != "" || !from.IsZero() || !to.IsZero() {
			return 0, nil, badArg("query parameter resource lists one resource's bills and cannot be combined with role, from or to")
		}
		p, err := listPage[model.Bill](r, c, "BillListByResource", res)
		return 200, p, err
	}
	org, f, t := c.MSPID(), unixArg(from), unixArg(to)
	phases := [][]string{{"BillListByProvider", org, f, t}, {"BillListByConsumer", org, f, t}}
	switch role {
	case "provider":
		phases = phases[:1]
	case "consumer":
		phases = phases[1:]
	}
	p, err := phasedPage[model.Bill](r, c, phases...)
	return 200, p, err
}

func (s *Server) getBill(r *http.Request, c *client.Client) (int, any, error) {
	b, err := c.Bill(r.Context(), r.PathValue("id"))
	return 200, b, err
}

func (s *Server) verifyBill(r *http.Request, c *client.Client) (int, any, error) {
	// On the embedded ledger c's backend is the *embedded.Backend
	// itself, so the verifier also checks the ledger data it read against
	// the blocks.
	v, err := verify.Bill(r.Context(), c, r.PathValue("id"), verify.Options{Head: r.URL.Query().Get("head")})
	return 200, v, err
}

func (s *Server) totals(r *http.Request, c *client.Client) (int, any, error) {
	from, err := timeParam(r, "from")
	if err != nil {
		return 0, nil, err
	}
	to, err := timeParam(r, "to")
	if err != nil {
		return 0, nil, err
	}
	t, err := c.Totals(r.Context(), from, to)
	return 200, t, err
}

func (s *Server) listPrices(r *http.Request, c *client.Client) (int, any, error) {
	p, err := listPage[client.PriceInForce](r, c, "PriceList", r.URL.Query().Get("provider"))
	return 200, p, err
}

func (s *Server) getPrice(r *http.Request, c *client.Client) (int, any, error) {
	at, err := timeParam(r, "at")
	if err != nil {
		return 0, nil, err
	}
	p, err := c.Price(r.Context(), r.PathValue("provider"), r.PathValue("type"), unixArg(at))
	return 200, p, err
}

func (s *Server) priceHistory(r *http.Request, c *client.Client) (int, any, error) {
	p, err := c.PriceHistory(r.Context(), r.PathValue("provider"), r.PathValue("type"))
	return 200, p, err
}

func (s *Server) getQuota(r *http.Request, c *client.Client) (int, any, error) {
	q, err := c.Quota(r.Context(), r.PathValue("provider"), r.PathValue("consumer"))
	return 200, q, err
}

func (s *Server) listResources(r *http.Request, c *client.Client) (int, any, error) {
	role, err := oneOf(r, "role", "provider", "consumer")
	if err != nil {
		return 0, nil, err
	}
	status := r.URL.Query().Get("status")
	phases := [][]string{{"ResourceList", "provider", status}, {"ResourceList", "consumer", status}}
	switch role {
	case "provider":
		phases = phases[:1]
	case "consumer":
		phases = phases[1:]
	}
	p, err := phasedPage[model.Resource](r, c, phases...)
	return 200, p, err
}

func (s *Server) getResource(r *http.Request, c *client.Client) (int, any, error) {
	res, err := c.Resource(r.Context(), r.PathValue("id"))
	return 200, res, err
}

func (s *Server) listUsage(r *http.Request, c *client.Client) (int, any, error) {
	p, err := listPage[model.UsageRecord](r, c, "UsageList", r.PathValue("id"))
	return 200, p, err
}

func (s *Server) listRules(r *http.Request, c *client.Client) (int, any, error) {
	p, err := listPage[model.Rule](r, c, "RuleList")
	return 200, p, err
}

func (s *Server) getRule(r *http.Request, c *client.Client) (int, any, error) {
	st, err := c.RuleStatus(r.Context(), r.PathValue("ref"))
	return 200, st, err
}

func (s *Server) members(r *http.Request, c *client.Client) (int, any, error) {
	m, err := c.Consortium(r.Context())
	return 200, m, err
}

func (s *Server) listProposals(r *http.Request, c *client.Client) (int, any, error) {
	p, err := listPage[model.Proposal](r, c, "ProposalList", r.URL.Query().Get("status"))
	return 200, p, err
}

func (s *Server) getProposal(r *http.Request, c *client.Client) (int, any, error) {
	p, err := c.Proposal(r.Context(), r.PathValue("id"))
	return 200, p, err
}

func (s *Server) history(r *http.Request, c *client.Client) (int, any, error) {
	h, err := c.History(r.Context(), r.PathValue("key"))
	return 200, h, err
}

// LedgerInfo is the embedded ledger's height, head hash and last
// transaction time (fedmeter ledger info).
type LedgerInfo struct {
	Blocks     uint64    `json:"blocks"`
	Head       string    `json:"head"`
	LastTxTime time.Time `json:"last_tx_time"`
}

func (s *Server) ledgerInfo(r *http.Request, c *client.Client) (int, any, error) {
	if s.emb == nil {
		return 0, nil, newProblem(http.StatusNotFound, "not_found", "this server is on Fabric: the peers keep the ledger, there is no embedded ledger to describe", "")
	}
	led := s.emb.Ledger()
	if led == nil {
		return 0, nil, client.Errorf(client.KindLedger, "the embedded ledger is not open")
	}
	h, head, err := led.Height()
	if err != nil {
		return 0, nil, client.Errorf(client.KindLedger, "the ledger's head cannot be read: %v", err)
	}
	last, err := s.emb.LastTxTime()
	if err != nil {
		return 0, nil, err
	}
	return 200, LedgerInfo{Blocks: h, Head: hex.EncodeToString(head[:]), LastTxTime: last.UTC()}, nil
}

// ---- write side ----

// readJSON decodes a request's JSON body into v: one document, no unknown
// fields.
func readJSON(r *http.Request, v any) error {
	if err := jsonContent(r); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var be *bodyError
		if errors.As(err, &mbe) || errors.As(err, &be) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badArg("the request body is empty: it must be a JSON document")
		}
		return badArg("the request body is not valid JSON for this route: %s", err.Error())
	}
	if dec.More() {
		return badArg("the request body holds more than one JSON document")
	}
	return nil
}

func jsonContent(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"the request body must be application/json, not "+strconv.Quote(ct), "set Content-Type: application/json")
	}
	return nil
}

func (s *Server) submitUsage(r *http.Request, c *client.Client) (int, any, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	format := ""
	switch mt {
	case "application/json", "application/x-ndjson", "application/jsonl":
		format = "jsonl"
	case "text/csv":
		format = "csv"
	default:
		return 0, nil, newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"usage must be sent as application/json (an array of records, or one record per line), application/x-ndjson or text/csv, not "+strconv.Quote(r.Header.Get("Content-Type")),
			"set Content-Type to one of those")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, nil, err
	}
	f, err := client.ReadUsage(bytes.NewReader(body), "request body", format)
	if err != nil {
		return 0, nil, err
	}
	rep, err := c.SubmitUsageFile(r.Context(), f, client.UsageOptions{})
	if rep != nil {
		s.metrics.usage(rep.Accepted, rep.Duplicates)
	}
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			s.metrics.usageRefused(string(ce.Code))
		} else {
			s.metrics.usageRefused("")
		}
		return 0, nil, err
	}
	return 200, rep, nil
}

// ResourceRequestBody is POST /api/v1/resources's body.
type ResourceRequestBody struct {
	ID         string            `json:"id,omitempty"`
	Provider   string            `json:"provider"`
	Type       string            `json:"type"`
	Spec       map[string]int64  `json:"spec"`
	Days       int64             `json:"days"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

func (s *Server) requestResource(r *http.Request, c *client.Client) (int, any, error) {
	var b ResourceRequestBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	res, err := c.RequestResource(r.Context(), client.ResourceRequest{ID: b.ID, Provider: b.Provider, Type: b.Type, Spec: b.Spec, Days: b.Days, Attributes: b.Attributes})
	return http.StatusCreated, res, err
}

func (s *Server) activateResource(r *http.Request, c *client.Client) (int, any, error) {
	res, err := c.ActivateResource(r.Context(), r.PathValue("id"))
	return 200, res, err
}

func (s *Server) releaseResource(r *http.Request, c *client.Client) (int, any, error) {
	rel, err := c.ReleaseResource(r.Context(), r.PathValue("id"))
	if err == nil && rel.Bill != nil {
		s.metrics.billIssued()
	}
	return 200, rel, err
}

// CloseBillBody is POST /api/v1/resources/{id}/bills's body (optional).
type CloseBillBody struct {
	// End is the period's end (RFC 3339 or Unix seconds); empty: now.
	End string `json:"end,omitempty"`
}

func (s *Server) closeBill(r *http.Request, c *client.Client) (int, any, error) {
	var b CloseBillBody
	if r.ContentLength != 0 {
		if err := readJSON(r, &b); err != nil {
			return 0, nil, err
		}
	}
	end := b.End
	if end != "" {
		if _, err := strconv.ParseInt(end, 10, 64); err != nil {
			t, err := time.Parse(time.RFC3339, end)
			if err != nil {
				return 0, nil, badArg("end %q is not a time: it must be RFC 3339 or Unix seconds", end)
			}
			end = unixArg(t)
		}
	}
	sum, err := c.CloseBill(r.Context(), r.PathValue("id"), end)
	if err == nil {
		s.metrics.billIssued()
	}
	return http.StatusCreated, sum, err
}

// VoteBody is the body of a vote: approve or reject; on a rule, revocation
// votes on revoking it instead of on approving it.
type VoteBody struct {
	Decision   string `json:"decision"`
	Revocation bool   `json:"revocation,omitempty"`
}

// RuleVoteResult is a rule vote's outcome: the proposal with the votes so
// far and the rule.
type RuleVoteResult struct {
	Proposal *model.Proposal `json:"proposal"`
	Rule     *model.Rule     `json:"rule"`
}

func readVote(r *http.Request) (VoteBody, error) {
	var b VoteBody
	if err := readJSON(r, &b); err != nil {
		return b, err
	}
	if b.Decision != "approve" && b.Decision != "reject" {
		return b, badArg("decision %q is not valid: it must be approve or reject", b.Decision)
	}
	return b, nil
}

func (s *Server) voteRule(r *http.Request, c *client.Client) (int, any, error) {
	b, err := readVote(r)
	if err != nil {
		return 0, nil, err
	}
	vote := c.VoteRule
	if b.Revocation {
		vote = c.VoteRevocation
	}
	p, rule, err := vote(r.Context(), r.PathValue("ref"), b.Decision)
	return 200, RuleVoteResult{Proposal: p, Rule: rule}, err
}

func (s *Server) voteProposal(r *http.Request, c *client.Client) (int, any, error) {
	b, err := readVote(r)
	if err != nil {
		return 0, nil, err
	}
	if b.Revocation {
		return 0, nil, badArg("revocation applies to votes on rules (POST /api/v1/rules/{ref}/votes)")
	}
	p, err := c.Vote(r.Context(), r.PathValue("id"), b.Decision)
	return 200, p, err
}

// TxBody is one of the contract's transactions, sent as is: what the
// fedmeter command sends with --server, so that every command works while
// a server holds the embedded ledger. The contract decides what the
// token's identity may do, as it does for any client.
type TxBody struct {
	Args []string `json:"args"`
	// Query evaluates instead of submitting: nothing is written.
	Query bool `json:"query,omitempty"`
}

// txName is what a transaction's name may be: the contract's exported
// methods (and the prototype's names).
var txName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)

func (s *Server) transaction(r *http.Request, c *client.Client) (int, any, error) {
	fn := r.PathValue("fn")
	if !txName.MatchString(fn) {
		return 0, nil, badArg("%q is not a transaction name", fn)
	}
	var body TxBody
	if err := readJSON(r, &body); err != nil {
		return 0, nil, err
	}
	if body.Args == nil {
		body.Args = []string{}
	}
	run := c.Backend().Submit
	if body.Query {
		run = c.Backend().Evaluate
	}
	out, err := run(r.Context(), fn, body.Args...)
	if err != nil {
		return 0, nil, err
	}
	if len(out) == 0 || !json.Valid(out) {
		// The contract's results are JSON; anything else is passed as a
		// JSON string.
		return 200, string(out), nil
	}
	return 200, json.RawMessage(out), nil
}
