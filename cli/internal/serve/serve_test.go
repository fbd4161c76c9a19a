package serve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

var day = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func init() {
	// JSON lines are text to the document (the server parses them).
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
}

// env is a server on an embedded ledger set up like the demo: Org1's ECS
// prices and a quota for Org2, the ECS test rule approved by Org1 and
// Org2 and active. Tokens: one per identity used.
type env struct {
	t      testing.TB
	srv    *Server
	ts     *httptest.Server
	dir    string
	now    atomic.Int64 // the ledger's clock, Unix seconds
	tokens map[string]string
	router routers.Router
	doc    *openapi3.T
}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with the server's options changed by opt.
func newEnvWith(t testing.TB, opt func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "ledger"), tokens: map[string]string{}}
	e.now.Store(day.Unix())
	clock := func() time.Time { return time.Unix(e.now.Load(), 0).UTC() }
	if _, err := embedded.Init(ctx, e.dir, embedded.InitOptions{Clock: clock, NoSync: true}); err != nil {
		t.Fatal(err)
	}
	b, err := embedded.Open(e.dir, embedded.Options{Clock: clock, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	as := func(who string) *client.Client {
		v, err := b.As(who)
		if err != nil {
			t.Fatal(err)
		}
		return client.New(v)
	}
	code, err := os.ReadFile(filepath.Join("..", "..", "..", "chaincode", "testdata", "ecs_hourly.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error {
			_, err := as("Org1/Admin").SetPrice(ctx, "ecs", client.Prices{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{
				"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}, "")
			return err
		},
		func() error {
			_, err := as("Org1/Admin").SetQuota(ctx, "Org2MSP", map[string]int64{"max_days": 365, "vcpu": 16, "memory_gib": 64, "system_disk_gib": 400, "public_ips": 8})
			return err
		},
		func() error {
			_, err := as("Org1/Admin").UploadRule(ctx, client.RuleMeta{Name: "ecs", Version: "1.0.0", Types: []string{"ecs"}, Author: "test"}, code)
			return err
		},
		func() error { _, _, err := as("Org1/Admin").VoteRule(ctx, "ecs@1.0.0", "approve"); return err },
		func() error { _, _, err := as("Org2/Admin").VoteRule(ctx, "ecs@1.0.0", "approve"); return err },
		func() error { _, err := as("Org1/Admin").ActivateRule(ctx, "ecs", "ecs@1.0.0", ""); return err },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("setup step %d: %v", i, err)
		}
	}
	b.Close()

	o := Options{Dir: e.dir, Clock: clock, NoSync: true, MaxBody: 1 << 20}
	if opt != nil {
		opt(&o)
	}
	e.srv, err = New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.srv.Close() })
	e.ts = httptest.NewServer(e.srv)
	t.Cleanup(e.ts.Close)
	for _, who := range []string{"Org1/Admin", "Org1/Agent1", "Org2/User1", "Org2/Admin", "Org3/Admin"} {
		org, _, _ := strings.Cut(who, "/")
		tok, _, err := CreateToken(e.srv.TokenFile(), who, org+"MSP", "test")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[who] = tok
	}

	// The OpenAPI document, checked by kin-openapi, validates every
	// response of the tests.
	loader := openapi3.NewLoader()
	e.doc, err = loader.LoadFromData(OpenAPI())
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := e.doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	e.doc.Servers = openapi3.Servers{{URL: e.ts.URL}}
	if e.router, err = legacy.NewRouter(e.doc); err != nil {
		t.Fatal(err)
	}
	return e
}

// at sets the ledger's clock.
func (e *env) at(d time.Duration) { e.now.Store(day.Add(d).Unix()) }

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, r.body)
	}
}

func (r resp) problem(t *testing.T) Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body:\n%s", ct, r.body)
	}
	var p Problem
	r.json(t, &p)
	if p.Status != r.status || p.Type == "" || p.Title == "" || p.Detail == "" || p.Kind == "" {
		t.Fatalf("problem document incomplete or status %d != %d: %+v", p.Status, r.status, p)
	}
	return p
}

// do sends a request as who ("" for none) and validates the response
// against the OpenAPI document when the route is one of its.
func (e *env) do(who, method, path, ctype string, body []byte) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if who != "" {
		tok, ok := e.tokens[who]
		if !ok {
			tok = who // a raw token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{res.StatusCode, res.Header, b}
	req.Body = io.NopCloser(bytes.NewReader(body))
	e.validate(req, r)
	return r
}

// validate checks the response against the document and, for a request
// the server accepted, the request too (its parameters and body are as
// the document describes them).
func (e *env) validate(req *http.Request, r resp) {
	e.t.Helper()
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		return // not a route of the document (unknown routes, wrong methods)
	}
	rin := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if r.status < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), rin); err != nil {
			e.t.Fatalf("%s %s: the server accepted a request that openapi.json does not describe: %v", req.Method, req.URL, err)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: rin,
		Status:                 r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.t.Fatalf("%s %s: the response (%d) does not match openapi.json: %v\n%s", req.Method, req.URL.Path, r.status, err, r.body)
	}
}

func (e *env) get(who, path string) resp { return e.do(who, "GET", path, "", nil) }

func (e *env) post(who, path string, v any) resp {
	var b []byte
	if v != nil {
		b, _ = json.Marshal(v)
	}
	return e.do(who, "POST", path, "application/json", b)
}

func want(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, status, r.body)
	}
}

func ecsRequest(id string) ResourceRequestBody {
	return ResourceRequestBody{ID: id, Provider: "Org1MSP", Type: "ecs", Days: 30,
		Spec: map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "public_ips": 1}}
}

// story requests, activates, meters and releases n servers through the
// API: n bills of Org1 to Org2. It returns the bills' IDs.
func (e *env) story(t *testing.T, n int) []string {
	t.Helper()
	var ids []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("ecs-%d", i)
		e.at(time.Duration(i) * time.Minute)
		r := e.post("Org2/User1", "/api/v1/resources", ecsRequest(id))
		want(t, r, 201)
		want(t, e.post("Org1/Agent1", "/api/v1/resources/"+id+"/activate", nil), 200)
	}
	csv := "resource,metric,quantity,start,end\n"
	for i := 1; i <= n; i++ {
		csv += fmt.Sprintf("ecs-%d,egress_gib,3,2026-01-01T01:00:00Z,2026-01-01T11:00:00Z\n", i)
	}
	e.at(20 * time.Hour)
	for round := 0; round < 2; round++ { // the second time: all duplicates
		r := e.do("Org1/Agent1", "POST", "/api/v1/usage", "text/csv", []byte(csv))
		want(t, r, 200)
		var rep client.UsageReport
		r.json(t, &rep)
		if round == 0 && rep.Accepted != n || round == 1 && rep.Duplicates != n {
			t.Fatalf("usage round %d: %+v", round, rep)
		}
	}
	for i := 1; i <= n; i++ {
		e.at(48*time.Hour + time.Duration(i)*time.Minute)
		r := e.post("Org2/User1", fmt.Sprintf("/api/v1/resources/ecs-%d/release", i), nil)
		want(t, r, 200)
		var rel client.Release
		r.json(t, &rel)
		if rel.Bill == nil || rel.Bill.Amount <= 0 || rel.Bill.Currency != "CNY" {
			t.Fatalf("release of ecs-%d: %s", i, r.body)
		}
		ids = append(ids, rel.Bill.ID)
	}
	return ids
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	r := e.get("", "/healthz")
	want(t, r, 200)

	for _, path := range []string{"/api/v1/bills", "/metrics", "/openapi.json", "/api/v1/whoami", "/nowhere"} {
		r := e.get("", path)
		want(t, r, 401)
		p := r.problem(t)
		if p.Kind != "unauthenticated" || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: %+v", path, p)
		}
	}
	// Another scheme, an unknown token, a token without the prefix.
	for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer fmt_" + strings.Repeat("A", 43), "Bearer nonsense", "Bearer "} {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/whoami", nil)
		req.Header.Set("Authorization", h)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Fatalf("Authorization %q: status %d, want 401", h, res.StatusCode)
		}
	}

	// A token acts as its identity.
	r = e.get("Org2/User1", "/api/v1/whoami")
	want(t, r, 200)
	var w Whoami
	r.json(t, &w)
	if w.As != "Org2/User1" || w.MSPID != "Org2MSP" || len(w.TokenID) != 12 {
		t.Fatalf("whoami: %+v", w)
	}

	// The file keeps only hashes.
	raw, err := os.ReadFile(e.srv.TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	for who, tok := range e.tokens {
		if bytes.Contains(raw, []byte(tok)) || bytes.Contains(raw, []byte(tok[len(tokenPrefix):])) {
			t.Fatalf("the token file holds %s's token in the clear", who)
		}
		if !bytes.Contains(raw, []byte(HashToken(tok))) {
			t.Fatalf("the token file lacks the hash of %s's token", who)
		}
	}

	// A token created while the server runs works at once; revoked, at
	// once no more.
	tok, entry, err := CreateToken(e.srv.TokenFile(), "Org3/User1", "Org3MSP", "")
	if err != nil {
		t.Fatal(err)
	}
	want(t, e.get(tok, "/api/v1/whoami"), 200)
	if _, err := RevokeToken(e.srv.TokenFile(), entry.ID[:8]); err != nil {
		t.Fatal(err)
	}
	r = e.get(tok, "/api/v1/whoami")
	want(t, r, 401)
	if p := r.problem(t); !strings.Contains(p.Detail, "unknown or revoked") {
		t.Fatalf("revoked: %+v", p)
	}
	if _, err := RevokeToken(e.srv.TokenFile(), entry.ID); client.KindOf(err) != client.KindNotFound {
		t.Fatalf("revoking twice: %v", err)
	}

	// A token of an identity the folder does not have.
	tok, _, err = CreateToken(e.srv.TokenFile(), "Org9/Admin", "Org9MSP", "")
	if err != nil {
		t.Fatal(err)
	}
	r = e.get(tok, "/api/v1/whoami")
	want(t, r, 401)
	r.problem(t)
}

func TestReadRoutes(t *testing.T) {
	e := newEnv(t)
	bills := e.story(t, 2)

	// Every read route, as the provider's admin and the consumer.
	for _, who := range []string{"Org1/Admin", "Org2/User1"} {
		for _, path := range []string{
			"/api/v1/bills", "/api/v1/bills?role=provider", "/api/v1/bills?role=consumer",
			"/api/v1/bills?resource=ecs-1", "/api/v1/bills?from=2026-01-01T00:00:00Z&to=1767398400",
			"/api/v1/bills/" + bills[0], "/api/v1/totals", "/api/v1/totals?from=2026-01-01T00:00:00Z",
			"/api/v1/prices", "/api/v1/prices?provider=Org1MSP", "/api/v1/prices/Org1MSP/ecs",
			"/api/v1/prices/Org1MSP/ecs?at=2026-01-02T00:00:00Z", "/api/v1/prices/Org1MSP/ecs/history",
			"/api/v1/quotas/Org1MSP/Org2MSP", "/api/v1/resources", "/api/v1/resources?role=consumer&status=released",
			"/api/v1/resources/ecs-1", "/api/v1/resources/ecs-1/usage", "/api/v1/rules", "/api/v1/rules/ecs@1.0.0",
			"/api/v1/members", "/api/v1/proposals", "/api/v1/proposals?status=approved",
			"/api/v1/history/consortium", "/api/v1/history/resource/ecs-1", "/api/v1/history/bill/" + bills[0],
			"/api/v1/history/price/Org1MSP/ecs", "/api/v1/ledger",
		} {
			r := e.get(who, path)
			if r.status != 200 {
				t.Fatalf("%s GET %s: %d\n%s", who, path, r.status, r.body)
			}
		}
	}

	// Bills: both roles for Org1 are its receivables.
	var page Page[client.Bill]
	e.get("Org1/Admin", "/api/v1/bills?role=provider").json(t, &page)
	if len(page.Items) != 2 || page.Items[0].Provider != "Org1MSP" {
		t.Fatalf("Org1's bills: %+v", page)
	}
	e.get("Org1/Admin", "/api/v1/bills?role=consumer").json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("Org1 received no bills: %+v", page)
	}
	var bill client.Bill
	e.get("Org2/User1", "/api/v1/bills/"+bills[1]).json(t, &bill)
	if bill.ID != bills[1] || bill.Consumer != "Org2MSP" || len(bill.Lines) == 0 {
		t.Fatalf("bill: %+v", bill)
	}
	var tot client.Totals
	e.get("Org1/Admin", "/api/v1/totals").json(t, &tot)
	if !strings.Contains(fmt.Sprint(tot), "Org2MSP") {
		t.Fatalf("totals: %+v", tot)
	}
	var rs client.RuleStatus
	e.get("Org3/Admin", "/api/v1/rules/ecs@1.0.0").json(t, &rs)
	if rs.Rule == nil || rs.Proposal == nil || len(rs.Proposal.Votes) != 2 {
		t.Fatalf("rule status: %s", e.get("Org3/Admin", "/api/v1/rules/ecs@1.0.0").body)
	}

	// Verify: recomputed offline, by either party.
	for _, who := range []string{"Org1/Admin", "Org2/User1"} {
		r := e.get(who, "/api/v1/bills/"+bills[0]+"/verify")
		want(t, r, 200)
		var v struct {
			OK     bool `json:"ok"`
			Checks []struct {
				Name string `json:"name"`
				OK   bool   `json:"ok"`
			} `json:"checks"`
		}
		r.json(t, &v)
		if !v.OK || len(v.Checks) < 3 || v.Checks[len(v.Checks)-1].Name != "ledger data" {
			t.Fatalf("verify as %s: %s", who, r.body)
		}
	}
	r := e.get("Org1/Admin", "/api/v1/bills/"+bills[0]+"/verify?head=xyz")
	want(t, r, 400)
	r.problem(t)
}

func TestPageTokens(t *testing.T) {
	e := newEnv(t)
	bills := e.story(t, 5)

	collect := func(who, query string, size int) []string {
		var ids []string
		tok := ""
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("page tokens do not end")
			}
			path := fmt.Sprintf("/api/v1/bills?page_size=%d%s", size, query)
			if tok != "" {
				path += "&page_token=" + tok
			}
			r := e.get(who, path)
			want(t, r, 200)
			var p Page[client.Bill]
			r.json(t, &p)
			if len(p.Items) > size {
				t.Fatalf("page of %d items, asked for %d", len(p.Items), size)
			}
			for _, b := range p.Items {
				ids = append(ids, b.ID)
			}
			if p.NextPageToken == "" {
				return ids
			}
			tok = p.NextPageToken
		}
	}
	for _, c := range []struct {
		who, query string
		size       int
	}{
		{"Org1/Admin", "", 2}, {"Org1/Admin", "&role=provider", 1}, {"Org2/User1", "&role=consumer", 3},
		{"Org2/User1", "", 1}, {"Org1/Admin", "&resource=ecs-3", 1},
	} {
		got := collect(c.who, c.query, c.size)
		exp := bills
		if strings.Contains(c.query, "resource=") {
			exp = bills[2:3]
		}
		if strings.Join(got, ",") != strings.Join(exp, ",") {
			t.Fatalf("%s %s size %d: got %v, want %v", c.who, c.query, c.size, got, exp)
		}
	}

	// A token belongs to its query.
	var p Page[client.Bill]
	e.get("Org1/Admin", "/api/v1/bills?role=provider&page_size=1").json(t, &p)
	if p.NextPageToken == "" {
		t.Fatal("no next page")
	}
	for _, path := range []string{
		"/api/v1/bills?role=consumer&page_token=" + p.NextPageToken,
		"/api/v1/resources?page_token=" + p.NextPageToken,
		"/api/v1/bills?page_token=garbage",
		"/api/v1/bills?page_size=0", "/api/v1/bills?page_size=501", "/api/v1/bills?page_size=x",
	} {
		r := e.get("Org1/Admin", path)
		want(t, r, 400)
		if pr := r.problem(t); pr.Kind != "invalid" || pr.Code != "" {
			t.Fatalf("%s: %+v", path, pr)
		}
	}
	// Another identity of the same org may follow it; another org's
	// bills are another query.
	r := e.get("Org2/User1", "/api/v1/bills?role=provider&page_token="+p.NextPageToken)
	want(t, r, 400)

	// Resources page too.
	var rp Page[client.Resource]
	e.get("Org2/User1", "/api/v1/resources?page_size=2").json(t, &rp)
	if len(rp.Items) != 2 || rp.NextPageToken == "" {
		t.Fatalf("resources page: %+v", rp)
	}
}

func TestProblems(t *testing.T) {
	e := newEnv(t)
	bills := e.story(t, 1)
	e.at(50 * time.Hour)

	cases := []struct {
		name         string
		who, method  string
		path, ctype  string
		body         string
		status       int
		code, kind   string
		detailSubstr string
	}{
		{"another org's bill", "Org3/Admin", "GET", "/api/v1/bills/" + bills[0], "", "", 403, "denied", "denied", "Org3MSP"},
		{"another org's verify", "Org3/Admin", "GET", "/api/v1/bills/" + bills[0] + "/verify", "", "", 403, "denied", "denied", ""},
		{"no such bill", "Org1/Admin", "GET", "/api/v1/bills/ecs-1:000009", "", "", 404, "not_found", "not_found", "ecs-1:000009"},
		{"no such resource", "Org1/Admin", "GET", "/api/v1/resources/nope", "", "", 404, "not_found", "not_found", ""},
		{"no such rule", "Org1/Admin", "GET", "/api/v1/rules/nope@9.9.9", "", "", 404, "not_found", "not_found", ""},
		{"no price", "Org1/Admin", "GET", "/api/v1/prices/Org3MSP/ecs", "", "", 404, "not_found", "not_found", ""},
		{"history of no key", "Org1/Admin", "GET", "/api/v1/history/nothing/x", "", "", 400, "", "invalid", "key"},
		{"bad role", "Org1/Admin", "GET", "/api/v1/bills?role=auditor", "", "", 400, "", "invalid", "role"},
		{"bad time", "Org1/Admin", "GET", "/api/v1/totals?from=yesterday", "", "", 400, "", "invalid", "from"},
		{"resource with role", "Org1/Admin", "GET", "/api/v1/bills?resource=ecs-1&role=provider", "", "", 400, "", "invalid", ""},
		{"released twice", "Org2/User1", "POST", "/api/v1/resources/ecs-1/release", "", "", 409, "conflict", "invalid", ""},
		{"release by another org", "Org3/Admin", "POST", "/api/v1/resources/ecs-1/release", "", "", 403, "denied", "denied", ""},
		{"over quota", "Org2/User1", "POST", "/api/v1/resources", "application/json",
			`{"id":"big","provider":"Org1MSP","type":"ecs","days":30,"spec":{"vcpu":64,"memory_gib":4,"system_disk_gib":40,"public_ips":1}}`, 422, "quota_exceeded", "invalid", ""},
		{"bad days", "Org2/User1", "POST", "/api/v1/resources", "application/json",
			`{"id":"x","provider":"Org1MSP","type":"ecs","days":0,"spec":{"vcpu":1}}`, 400, "bad_argument", "invalid", "days"},
		{"non-member", "Org3/Admin", "POST", "/api/v1/resources", "application/json",
			`{"id":"y","provider":"Org1MSP","type":"ecs","days":1,"spec":{"vcpu":1}}`, 404, "not_found", "not_found", ""},
		{"malformed JSON", "Org2/User1", "POST", "/api/v1/resources", "application/json", `{"id":`, 400, "", "invalid", "JSON"},
		{"unknown field", "Org2/User1", "POST", "/api/v1/resources", "application/json", `{"idd":"x"}`, 400, "", "invalid", "idd"},
		{"two documents", "Org2/User1", "POST", "/api/v1/resources", "application/json", `{} {}`, 400, "", "invalid", ""},
		{"empty body", "Org2/User1", "POST", "/api/v1/resources", "application/json", ``, 400, "", "invalid", "empty"},
		{"wrong content type", "Org2/User1", "POST", "/api/v1/resources", "text/plain", `{}`, 415, "", "unsupported_media_type", ""},
		{"usage: wrong content type", "Org1/Agent1", "POST", "/api/v1/usage", "application/xml", `<x/>`, 415, "", "unsupported_media_type", ""},
		{"usage: bad record", "Org1/Agent1", "POST", "/api/v1/usage", "application/json",
			`[{"resource":"ecs-1","metric":"egress_gib","quantity":-1,"start":1,"end":2}]`, 400, "", "invalid", "quantity"},
		{"usage: unknown resource", "Org1/Agent1", "POST", "/api/v1/usage", "application/json",
			`[{"resource":"nope","metric":"egress_gib","quantity":1,"start":1767225600,"end":1767229200}]`, 404, "not_found", "not_found", ""},
		{"usage: too large", "Org1/Agent1", "POST", "/api/v1/usage", "text/csv", strings.Repeat("x", 2<<20), 413, "", "too_large", ""},
		{"close bill of a released resource", "Org1/Admin", "POST", "/api/v1/resources/ecs-1/bills", "", "", 409, "conflict", "invalid", ""},
		{"close bill: bad end", "Org1/Admin", "POST", "/api/v1/resources/ecs-1/bills", "application/json", `{"end":"soon"}`, 400, "", "invalid", "end"},
		{"unknown route", "Org1/Admin", "GET", "/api/v1/nothing", "", "", 404, "", "not_found", "no route"},
		{"wrong method", "Org1/Admin", "DELETE", "/api/v1/bills", "", "", 405, "", "method_not_allowed", ""},
		{"wrong method on a write route", "Org1/Admin", "GET", "/api/v1/usage", "", "", 405, "", "method_not_allowed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.who, c.method, c.path, c.ctype, []byte(c.body))
			if r.status != c.status {
				t.Fatalf("status %d, want %d:\n%s", r.status, c.status, r.body)
			}
			p := r.problem(t)
			if p.Code != c.code || p.Kind != c.kind || !strings.Contains(p.Detail, c.detailSubstr) {
				t.Fatalf("problem %+v, want code %q kind %q detail with %q", p, c.code, c.kind, c.detailSubstr)
			}
			if c.code != "" && !strings.HasSuffix(p.Type, "/"+c.code) {
				t.Fatalf("type %q does not name the code", p.Type)
			}
			if strings.Contains(string(r.body), "goroutine") {
				t.Fatalf("a stack trace: %s", r.body)
			}
		})
	}
	// 405 names the allowed methods.
	if r := e.do("Org1/Admin", "DELETE", "/api/v1/bills", "", nil); r.header.Get("Allow") != "GET" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
}

func TestWriteRoutes(t *testing.T) {
	e := newEnv(t)
	e.at(time.Hour)
	r := e.post("Org2/User1", "/api/v1/resources", ecsRequest("ecs-9"))
	want(t, r, 201)
	var res client.Resource
	r.json(t, &res)
	if res.ID != "ecs-9" || res.Consumer != "Org2MSP" {
		t.Fatalf("resource: %s", r.body)
	}
	r = e.post("Org2/User1", "/api/v1/resources/ecs-9/activate", nil)
	want(t, r, 403) // the provider activates
	want(t, e.post("Org1/Agent1", "/api/v1/resources/ecs-9/activate", nil), 200)

	// Usage as a JSON array with RFC 3339 and Unix times, then as JSON lines.
	e.at(30 * time.Hour)
	records := `[{"resource":"ecs-9","metric":"egress_gib","quantity":2,"start":"2026-01-01T02:00:00Z","end":"2026-01-01T03:00:00Z"},
	{"id":"agent-1","resource":"ecs-9","metric":"egress_gib","quantity":1,"start":1767236400,"end":1767240000}]`
	r = e.do("Org1/Agent1", "POST", "/api/v1/usage", "application/json", []byte(records))
	want(t, r, 200)
	var rep client.UsageReport
	r.json(t, &rep)
	if rep.Accepted != 2 || rep.Duplicates != 0 {
		t.Fatalf("usage: %+v", rep)
	}
	lines := `{"resource":"ecs-9","metric":"egress_gib","quantity":2,"start":"2026-01-01T02:00:00Z","end":"2026-01-01T03:00:00Z"}
{"resource":"ecs-9","metric":"egress_gib","quantity":4,"start":"2026-01-01T04:00:00Z","end":"2026-01-01T05:00:00Z"}`
	r = e.do("Org1/Agent1", "POST", "/api/v1/usage", "application/x-ndjson", []byte(lines))
	want(t, r, 200)
	r.json(t, &rep)
	if rep.Accepted != 1 || rep.Duplicates != 1 {
		t.Fatalf("usage rerun: %+v", rep)
	}
	// The same ID with other content is a conflict.
	r = e.do("Org1/Agent1", "POST", "/api/v1/usage", "application/json",
		[]byte(`[{"id":"agent-1","resource":"ecs-9","metric":"egress_gib","quantity":5,"start":1767236400,"end":1767240000}]`))
	want(t, r, 409)
	if p := r.problem(t); p.Code != "conflict" {
		t.Fatalf("%+v", p)
	}
	var up Page[client.UsageRecord]
	e.get("Org2/User1", "/api/v1/resources/ecs-9/usage").json(t, &up)
	if len(up.Items) != 3 {
		t.Fatalf("usage list: %+v", up)
	}

	// The provider closes a period: a bill; the consumer may not.
	e.at(40 * time.Hour)
	want(t, e.post("Org2/User1", "/api/v1/resources/ecs-9/bills", nil), 403)
	r = e.post("Org1/Admin", "/api/v1/resources/ecs-9/bills", CloseBillBody{End: "2026-01-02T12:00:00Z"})
	want(t, r, 201)
	var sum client.BillSummary
	r.json(t, &sum)
	if sum.ID == "" || sum.Amount <= 0 {
		t.Fatalf("closed bill: %s", r.body)
	}
	e.at(50 * time.Hour)
	r = e.post("Org2/User1", "/api/v1/resources/ecs-9/release", nil)
	want(t, r, 200)
	var p Page[client.Bill]
	e.get("Org2/User1", "/api/v1/bills?resource=ecs-9").json(t, &p)
	if len(p.Items) != 2 {
		t.Fatalf("bills of ecs-9: %+v", p)
	}

	// Metrics count it all.
	r = e.get("Org1/Admin", "/metrics")
	want(t, r, 200)
	m := string(r.body)
	for _, s := range []string{
		`fedmeter_http_requests_total{route="/api/v1/usage",method="POST",code="200"} 2`,
		`fedmeter_http_requests_total{route="/api/v1/resources/{id}/activate",method="POST",code="403"} 1`,
		`fedmeter_http_request_duration_seconds_bucket{route="/api/v1/resources",le="+Inf"} 1`,
		`fedmeter_http_request_duration_seconds_count{route="/api/v1/resources"} 1`,
		"fedmeter_bills_issued_total 2",
		`fedmeter_usage_records_total{outcome="accepted"} 3`,
		`fedmeter_usage_records_total{outcome="duplicate"} 1`,
		`fedmeter_usage_batches_refused_total{code="conflict"} 1`,
		`fedmeter_rule_calls_total{rule="ecs",outcome="ok"} `,
		`fedmeter_rule_gas_used_bucket{rule="ecs",le="+Inf"} `,
		`fedmeter_rule_call_seconds_count{rule="ecs"} `,
		"# TYPE fedmeter_ledger_height gauge",
	} {
		if !strings.Contains(m, s) {
			t.Fatalf("/metrics lacks %q:\n%s", s, m)
		}
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics Content-Type %q", r.header.Get("Content-Type"))
	}
}

// Many clients at once: every acknowledged record is on the ledger.
func TestConcurrentClients(t *testing.T) {
	e := newEnv(t)
	e.story(t, 2)
	e.at(60 * time.Hour)
	want(t, e.post("Org2/User1", "/api/v1/resources", ecsRequest("ecs-c")), 201)
	want(t, e.post("Org1/Agent1", "/api/v1/resources/ecs-c/activate", nil), 200)
	e.at(70 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := fmt.Sprintf(`[{"resource":"ecs-c","metric":"egress_gib","quantity":1,"start":%d,"end":%d}]`,
				day.Add(61*time.Hour).Unix()+int64(i)*60, day.Add(61*time.Hour).Unix()+int64(i+1)*60)
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/usage", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.tokens["Org1/Agent1"])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Sprintf("usage %d: %d %s", i, res.StatusCode, b)
			}
			req, _ = http.NewRequest("GET", e.ts.URL+"/api/v1/bills", nil)
			req.Header.Set("Authorization", "Bearer "+e.tokens["Org2/User1"])
			if res, err = http.DefaultClient.Do(req); err != nil {
				errs <- err.Error()
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Sprintf("bills %d: %d", i, res.StatusCode)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Error(s)
	}
	var up Page[client.UsageRecord]
	e.get("Org2/User1", "/api/v1/resources/ecs-c/usage").json(t, &up)
	if len(up.Items) != 8 {
		t.Fatalf("%d usage records on the ledger, want 8", len(up.Items))
	}
}

// Every route the server answers is in the OpenAPI document, and the
// other way round.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for path, item := range e.doc.Paths.Map() {
		for method := range item.Operations() {
			seen[method+" "+path] = true
			req := httptest.NewRequest(method, strings.NewReplacer("{id}", "x", "{provider}", "p", "{type}", "t", "{consumer}", "c", "{ref}", "r", "{key}", "k").Replace(path), nil)
			_, pattern := e.srv.mux.Handler(req)
			pattern = strings.Replace(pattern, "{key...}", "{key}", 1)
			if pattern != method+" "+path {
				t.Errorf("openapi.json has %s %s, the server routes it to %q", method, path, pattern)
			}
		}
	}
	if len(seen) != len(operations) {
		t.Errorf("openapi.json has %d operations, the table %d", len(seen), len(operations))
	}
	// The route table in api.go, read back from the source, against the
	// document.
	src, err := os.ReadFile("api.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, `m.HandleFunc("`) || strings.HasPrefix(line, `m.HandleFunc("/"`) {
			continue
		}
		pat := strings.Replace(strings.SplitN(line, `"`, 3)[1], "{key...}", "{key}", 1)
		n++
		if !seen[pat] {
			t.Errorf("route %s is not in openapi.json", pat)
		}
	}
	if n != len(seen) {
		t.Errorf("api.go routes %d patterns, openapi.json has %d", n, len(seen))
	}
	// The document as served.
	r := e.get("Org1/Admin", "/openapi.json")
	want(t, r, 200)
	if !bytes.Equal(r.body, OpenAPI()) {
		t.Fatal("the served document differs")
	}
}

func TestProblemStatusOfEveryCode(t *testing.T) {
	for code, status := range codeStatus {
		p := problemOf(client.RefusalError("X", "["+string(code)+"] something", "", nil), "/x")
		if p.Status != status || p.Code != string(code) {
			t.Errorf("%s: %+v", code, p)
		}
		if p.Status < 400 {
			t.Errorf("%s maps to %d", code, p.Status)
		}
	}
	if p := problemOf(fmt.Errorf("plain"), ""); p.Status != 500 || p.Kind != "internal" {
		t.Errorf("uncoded: %+v", p)
	}
	if p := problemOf(client.Errorf(client.KindBusy, "busy"), ""); p.Status != 503 {
		t.Errorf("busy: %+v", p)
	}
}

func TestMutualTLS(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewUnstartedServer(e.srv)
	ts.TLS = e.srv.TLSConfig()
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	ts.StartTLS()
	defer ts.Close()

	id, err := msp.LoadIdentity(msp.UserMSPDir(filepath.Join(e.dir, "orgs", "org2.example.com"), "User1", "org2.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(id.CertPEM)
	withCert := func(certs ...tls.Certificate) *http.Client {
		c := ts.Client()
		tr := c.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = certs
		return &http.Client{Transport: tr}
	}
	get := func(c *http.Client, tok string) (int, string, error) {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/whoami", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), nil
	}
	c := withCert(tls.Certificate{Certificate: [][]byte{blk.Bytes}, PrivateKey: id.Key})
	code, body, err := get(c, "")
	if err != nil || code != 200 || !strings.Contains(body, `"as":"Org2/User1"`) || !strings.Contains(body, `"token_id":"x509:`) {
		t.Fatalf("with Org2/User1's certificate: %d %s %v", code, body, err)
	}
	// A token wins over the certificate.
	if code, body, _ := get(c, e.tokens["Org1/Admin"]); code != 200 || !strings.Contains(body, `"as":"Org1/Admin"`) {
		t.Fatalf("token and certificate: %d %s", code, body)
	}
	// No certificate, no token: refused.
	if code, _, err := get(withCert(), ""); err != nil || code != 401 {
		t.Fatalf("neither: %d %v", code, err)
	}
	// A certificate of no org's CA: the handshake fails.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stranger"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	stranger := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	sc := withCert()
	// Sent even though the server names other CAs (Go's client would
	// not send it otherwise).
	sc.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return stranger, nil
	}
	if code, _, err := get(sc, ""); err == nil {
		t.Fatalf("a self-signed certificate was accepted: %d", code)
	}
}

func TestConsole(t *testing.T) {
	e := newEnv(t)
	bills := e.story(t, 2)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, cookie, origin string, form url.Values) (int, http.Header, string) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, e.ts.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(b)
	}
	// Not logged in: to the login page, which is only a form.
	if code, h, _ := send("GET", "/", "", "", nil); code != 303 || h.Get("Location") != "/login" {
		t.Fatalf("/ without a session: %d %v", code, h)
	}
	if code, _, _ := send("GET", "/bills/"+bills[0], "", "", nil); code != 303 {
		t.Fatalf("a bill without a session: %d", code)
	}
	code, h, body := send("GET", "/login", "", "", nil)
	if code != 200 || !strings.Contains(body, `name="token"`) || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("login page: %d %v\n%s", code, h, body)
	}
	if code, _, body := send("POST", "/login", "", "", url.Values{"token": {"fmt_nope"}}); code != 401 || !strings.Contains(body, "unknown or revoked") {
		t.Fatalf("bad token: %d %s", code, body)
	}
	org1 := e.tokens["Org1/Admin"]
	if code, h, _ := send("POST", "/login", "", "http://evil.example", url.Values{"token": {org1}}); code != 403 || h.Get("Set-Cookie") != "" {
		t.Fatalf("cross-site login: %d %v", code, h)
	}
	code, h, _ = send("POST", "/login", "", e.ts.URL, url.Values{"token": {org1}})
	ck := h.Get("Set-Cookie")
	if code != 303 || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
		t.Fatalf("login: %d %v", code, h)
	}

	// The overview: receivables per counterparty, with the currency.
	code, _, body = send("GET", "/", org1, "", nil)
	if code != 200 || !strings.Contains(body, "Org2MSP") || !strings.Contains(body, " CNY") || !strings.Contains(body, "Org1/Admin") {
		t.Fatalf("overview: %d\n%s", code, body)
	}
	code, _, body = send("GET", "/bills", org1, "", nil)
	if code != 200 || !strings.Contains(body, bills[0]) || !strings.Contains(body, bills[1]) {
		t.Fatalf("bills: %d\n%s", code, body)
	}
	if _, _, body = send("GET", "/bills?role=consumer&from=2026-01-01", org1, "", nil); !strings.Contains(body, "No bills.") {
		t.Fatalf("Org1's received bills:\n%s", body)
	}
	if code, _, body = send("GET", "/bills?from=yesterday", org1, "", nil); code != 400 || !strings.Contains(body, "from") {
		t.Fatalf("a bad filter: %d\n%s", code, body)
	}
	code, _, body = send("GET", "/bills/"+bills[0], org1, "", nil)
	if code != 200 || !strings.Contains(body, "egress") || !strings.Contains(body, "Verify offline") {
		t.Fatalf("bill: %d\n%s", code, body)
	}
	code, _, body = send("GET", "/bills/"+bills[0]+"?verify=1", org1, "", nil)
	if code != 200 || !strings.Contains(body, "every check holds") || !strings.Contains(body, "ledger data") {
		t.Fatalf("verify: %d\n%s", code, body)
	}
	// Another org's bill: refused, said on the page.
	code, _, body = send("GET", "/bills/"+bills[0], e.tokens["Org3/Admin"], "", nil)
	if code != 403 || !strings.Contains(body, "Org3MSP") {
		t.Fatalf("Org3 reads Org1's bill: %d\n%s", code, body)
	}
	// The API never takes the session cookie.
	if code, _, _ := send("GET", "/api/v1/bills", org1, "", nil); code != 401 {
		t.Fatalf("the API with a cookie: %d", code)
	}
	if code, h, _ := send("POST", "/logout", org1, e.ts.URL, url.Values{}); code != 303 || !strings.Contains(h.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %v", code, h)
	}
}

// fakeGateway is a backend of one identity, as Fabric's gateway is: canned
// results of the contract's transactions.
type fakeGateway struct{ mspID string }

func (f fakeGateway) Submit(ctx context.Context, fn string, args ...string) ([]byte, error) {
	return nil, client.RefusalError(fn, "[denied] only Org2MSP may release ecs-1; the caller is Org1MSP", "tx1", nil)
}

func (f fakeGateway) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	switch fn {
	case "BillListByProvider":
		return []byte(`{"items":[{"id":"ecs-1:000001","kind":"release","provider":"Org1MSP","consumer":"Org2MSP","resource":"ecs-1","resource_type":"ecs",
			"period":{"start":1,"end":2},"rule":{"name":"ecs","version":"1.0.0","hash":"h","prepared_hash":"p","profile":"x"},"gas_used":1,"input_hash":"i",
			"amount":4904,"currency":"CNY","scale":2,"lines":[{"item":"vcpu","amount":4904}],"tx":"t","issued_at":2,"issued_by":{"msp":"Org2MSP","id":"x"}}],"count":1,"bookmark":""}`), nil
	case "BillListByConsumer":
		return []byte(`{"items":[],"count":0,"bookmark":""}`), nil
	}
	return nil, client.RefusalError(fn, "[not_found] "+fn+" names nothing here", "", nil)
}

func (f fakeGateway) MSPID() string { return f.mspID }
func (f fakeGateway) Close() error  { return nil }

// On Fabric the server is one identity: tokens of its MSP ID act as it,
// others are refused; refusals cross the gateway with their codes.
func TestGatewayBackend(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "p.tokens.json")
	srv, err := New(context.Background(), Options{Backend: fakeGateway{"Org1MSP"}, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if srv.TLSConfig() != nil {
		t.Fatal("mutual TLS on a gateway server")
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	ours, _, _ := CreateToken(tokens, "Org1MSP", "Org1MSP", "")
	theirs, _, _ := CreateToken(tokens, "Org2MSP", "Org2MSP", "")
	e := &env{t: t, ts: ts, tokens: map[string]string{"ours": ours, "theirs": theirs}}
	loader := openapi3.NewLoader()
	if e.doc, err = loader.LoadFromData(OpenAPI()); err != nil {
		t.Fatal(err)
	}
	e.doc.Servers = openapi3.Servers{{URL: ts.URL}}
	if e.router, err = legacy.NewRouter(e.doc); err != nil {
		t.Fatal(err)
	}

	r := e.get("ours", "/api/v1/bills")
	want(t, r, 200)
	var p Page[client.Bill]
	r.json(t, &p)
	if len(p.Items) != 1 || p.Items[0].Amount != 4904 || p.NextPageToken != "" {
		t.Fatalf("bills: %s", r.body)
	}
	r = e.get("theirs", "/api/v1/bills")
	want(t, r, 403)
	if pr := r.problem(t); !strings.Contains(pr.Detail, "Org1MSP") {
		t.Fatalf("another MSP's token: %+v", pr)
	}
	r = e.get("ours", "/api/v1/bills/ecs-9:000001")
	want(t, r, 404)
	if pr := r.problem(t); pr.Code != "not_found" || pr.Op != "BillGet" {
		t.Fatalf("%+v", pr)
	}
	r = e.post("ours", "/api/v1/resources/ecs-1/release", nil)
	want(t, r, 403)
	if pr := r.problem(t); pr.Code != "denied" || pr.TxID != "tx1" {
		t.Fatalf("%+v", pr)
	}
	r = e.get("ours", "/api/v1/ledger")
	want(t, r, 404)
	r.problem(t)
	r = e.get("ours", "/metrics")
	want(t, r, 200)
	if strings.Contains(string(r.body), "fedmeter_ledger_height") {
		t.Fatal("a ledger height on Fabric")
	}
}

func TestVotes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.srv.emb.As("Org1/Admin")
	if err != nil {
		t.Fatal(err)
	}
	e.at(time.Hour)
	prop, err := client.New(admin).Propose(ctx, "upload.set", "members", "our users build rules")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/proposals/" + prop.ID + "/votes"
	approve := VoteBody{Decision: "approve"}
	r := e.post("Org2/User1", path, approve)
	want(t, r, 403)
	if p := r.problem(t); p.Code != "denied" {
		t.Fatalf("%+v", p)
	}
	want(t, e.post("Org2/Admin", path, VoteBody{Decision: "maybe"}), 400)
	want(t, e.post("Org2/Admin", path, VoteBody{Decision: "approve", Revocation: true}), 400)
	r = e.post("Org2/Admin", path, approve)
	want(t, r, 200)
	var p client.Proposal
	r.json(t, &p)
	if p.ID != prop.ID || len(p.Votes) == 0 {
		t.Fatalf("vote: %s", r.body)
	}
	r = e.post("Org2/Admin", path, approve)
	want(t, r, 409)
	want(t, e.post("Org2/Admin", "/api/v1/proposals/nope/votes", approve), 404)

	// On a rule: approved already; then its revocation.
	r = e.post("Org3/Admin", "/api/v1/rules/ecs@1.0.0/votes", approve)
	if r.status != 409 {
		t.Fatalf("a vote on a decided rule: %d %s", r.status, r.body)
	}
	if _, _, err := client.New(admin).ProposeRevocation(ctx, "ecs@1.0.0", "a better one is coming"); err != nil {
		t.Fatal(err)
	}
	r = e.post("Org3/Admin", "/api/v1/rules/ecs@1.0.0/votes", VoteBody{Decision: "reject", Revocation: true})
	want(t, r, 200)
	var rv RuleVoteResult
	r.json(t, &rv)
	if rv.Proposal == nil || rv.Rule == nil || rv.Rule.Name != "ecs" {
		t.Fatalf("revocation vote: %s", r.body)
	}
}
