package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// page fetches a console page with who's session (no redirects followed).
func (e *env) page(who, method, path string, form url.Values, origin string) (int, http.Header, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.ts.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if who != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: e.tokens[who]})
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if dir := os.Getenv("FEDMETER_CONSOLE_DUMP"); dir != "" {
		name := strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "_", ":", "_").Replace(path)
		os.WriteFile(filepath.Join(dir, strings.ReplaceAll(who, "/", "-")+name+".html"), b, 0o644)
	}
	return res.StatusCode, res.Header, string(b)
}

func pageHas(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

// consoleEnv is the server of newEnv with two bills of Org1 to Org2 in
// January, a second ECS rule uploaded and open for votes, Org1's prices
// changed, and a bill of Org1 to Org3 in February.
func consoleEnv(t *testing.T) (*env, []string) {
	e := newEnv(t)
	bills := e.story(t, 2)
	e.at(60 * time.Hour)
	code := append(ecsModule(t), 0, 5, 4, 'n', 'e', 'x', 't')
	want(t, e.post("Org1/Admin", "/api/v1/rules", RuleUploadBody{Name: "ecs", Version: "1.1.0", Types: []string{"ecs"}, Author: "Org1", Module: code}), 201)
	want(t, e.post("Org1/Admin", "/api/v1/prices/Org1MSP/ecs", PriceSetBody{Currency: "CNY", Scale: 2,
		UnitPrices: map[string]int64{"vcpu_hour": 14, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80, "free_egress_gib": 1}}), 201)
	// Org3 also buys from Org1: a server released in February.
	want(t, e.post("Org1/Admin", "/api/v1/quotas/Org1MSP/Org3MSP", QuotaSetBody{Limits: map[string]int64{"max_days": 365, "vcpu": 16,
		"memory_gib": 64, "system_disk_gib": 400, "public_ips": 8}}), 200)
	req := ecsRequest("ecs-3")
	req.Days = 90
	want(t, e.post("Org3/Admin", "/api/v1/resources", req), 201)
	want(t, e.post("Org1/Agent1", "/api/v1/resources/ecs-3/activate", nil), 200)
	e.at(40 * 24 * time.Hour)
	want(t, e.post("Org3/Admin", "/api/v1/resources/ecs-3/release", nil), 200)
	return e, bills
}

func TestConsolePages(t *testing.T) {
	e, bills := consoleEnv(t)
	// Every page, as the provider's admin: 200, the menu, no template error.
	for _, p := range []string{"/", "/bills", "/bills/" + bills[0], "/usage", "/usage?resource=ecs-1", "/quotas", "/prices",
		"/prices/Org1MSP/ecs", "/rules", "/rules/ecs@1.1.0", "/ledger"} {
		code, h, body := e.page("Org1/Admin", "GET", p, nil, "")
		if code != 200 {
			t.Fatalf("%s: %d\n%s", p, code, body)
		}
		pageHas(t, p, body, `<a href="/rules"`, `<script src="/static/console.js" defer></script>`)
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Fatalf("%s: CSP %q", p, h.Get("Content-Security-Policy"))
		}
		if strings.Contains(body, "ZgotmplZ") {
			t.Fatalf("%s: a value the template refused:\n%s", p, body)
		}
	}

	// The overview: a chart per side and currency, money with its
	// currency in the tooltips, the month of the bills.
	_, _, body := e.page("Org1/Admin", "GET", "/", nil, "")
	pageHas(t, "overview", body, "Receivable per month (CNY)", "<svg", "Org2MSP, 2026-01: ", "Org3MSP, 2026-02: ", " CNY</title>")
	if strings.Contains(body, "Payable per month") {
		t.Fatalf("Org1 received no bills, but the overview charts payables:\n%s", body)
	}
	_, _, body = e.page("Org2/User1", "GET", "/", nil, "")
	pageHas(t, "Org2's overview", body, "Payable per month (CNY)", "Org1MSP, 2026-01: ")
	// The month's amount is the sum of the two bills.
	var b1, b2 client.Bill
	e.get("Org1/Admin", "/api/v1/bills/"+bills[0]).json(t, &b1)
	e.get("Org1/Admin", "/api/v1/bills/"+bills[1]).json(t, &b2)
	pageHas(t, "overview", body, "Org1MSP, 2026-01: "+client.FormatMoney(b1.Amount+b2.Amount, 2)+" CNY")

	// Times: a <time> in UTC that the script rewrites.
	_, _, body = e.page("Org1/Admin", "GET", "/bills/"+bills[0], nil, "")
	if !regexp.MustCompile(`<time datetime="2026-01-0[0-9]T[0-9:]+Z" title="2026-01-0[0-9] [0-9:]+ UTC">2026-01-0[0-9] [0-9:]+ UTC</time>`).MatchString(body) {
		t.Fatalf("bill: no <time> element:\n%s", body)
	}
	code, h, js := e.page("Org1/Admin", "GET", "/static/console.js", nil, "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || !strings.Contains(js, "time[datetime]") {
		t.Fatalf("console.js: %d %v", code, h)
	}
	if code, _, body := e.page("Org1/Admin", "GET", "/static/../console.go", nil, ""); code == 200 || strings.Contains(body, "package serve") {
		t.Fatalf("a file beside the assets: %d", code)
	}

	// Usage over time; quotas as bars against their limits.
	_, _, body = e.page("Org2/User1", "GET", "/usage?resource=ecs-1", nil, "")
	pageHas(t, "usage", body, "egress_gib (total 3,", "<rect")
	_, _, body = e.page("Org2/User1", "GET", "/quotas", nil, "")
	pageHas(t, "quotas", body, "at Org1MSP", "vcpu", "of 16 (")
	_, _, body = e.page("Org1/Admin", "GET", "/quotas", nil, "")
	pageHas(t, "quotas", body, "to Org2MSP", "No quotas received.")

	// Prices: in force, and the book's history with both entries.
	_, _, body = e.page("Org2/User1", "GET", "/prices", nil, "")
	pageHas(t, "prices", body, "vcpu_hour: 0.14 CNY", "free_egress_gib: 1<br>")
	_, _, body = e.page("Org2/User1", "GET", "/prices/Org1MSP/ecs", nil, "")
	pageHas(t, "price book", body, "0.12 CNY", "0.14 CNY")

	// Rules: the activation timeline; the open vote's tally and forms.
	_, _, body = e.page("Org2/User1", "GET", "/rules", nil, "")
	pageHas(t, "rules", body, "Activations by resource type", "ecs@1.0.0", "ecs@1.1.0", "proposed")
	_, _, body = e.page("Org2/Admin", "GET", "/rules/ecs@1.1.0", nil, "")
	pageHas(t, "rule", body, "0 approve, 0 reject", `action="/rules/ecs@1.1.0/vote"`, `value="approve"`)
	_, _, body = e.page("Org2/User1", "GET", "/rules/ecs@1.1.0", nil, "")
	if strings.Contains(body, `/vote"`) {
		t.Fatalf("a member who is not an admin is offered the vote:\n%s", body)
	}
	pageHas(t, "rule as a non-admin", body, "Only an admin of a member org votes.")

	// Ledger: height, head, verify; this server's metrics.
	_, _, body = e.page("Org1/Admin", "GET", "/ledger?verify=1", nil, "")
	pageHas(t, "ledger", body, `id="height"`, "Verified: the blocks form an unbroken hash chain", "HTTP requests by route", "/api/v1/usage")
}

func TestConsoleVote(t *testing.T) {
	e, _ := consoleEnv(t)
	vote := url.Values{"decision": {"approve"}}
	// From another site: refused, nothing voted.
	if code, _, body := e.page("Org2/Admin", "POST", "/rules/ecs@1.1.0/vote", vote, "http://evil.example"); code != 403 || !strings.Contains(body, "another site") {
		t.Fatalf("a cross-site vote: %d\n%s", code, body)
	}
	// No session: to the login page.
	if code, h, _ := e.page("", "POST", "/rules/ecs@1.1.0/vote", vote, e.ts.URL); code != 303 || h.Get("Location") != "/login" {
		t.Fatalf("a vote without a session: %d %v", code, h)
	}
	// A non-admin: the contract's refusal, on a page.
	if code, _, body := e.page("Org2/User1", "POST", "/rules/ecs@1.1.0/vote", vote, e.ts.URL); code != 403 || !strings.Contains(body, "admin") {
		t.Fatalf("a member's vote: %d\n%s", code, body)
	}
	if code, _, _ := e.page("Org2/Admin", "POST", "/rules/ecs@1.1.0/vote", url.Values{"decision": {"maybe"}}, e.ts.URL); code != 400 {
		t.Fatalf("a bad decision: %d", code)
	}
	code, h, _ := e.page("Org2/Admin", "POST", "/rules/ecs@1.1.0/vote", vote, e.ts.URL)
	if code != 303 || !strings.HasPrefix(h.Get("Location"), "/rules/ecs@1.1.0") {
		t.Fatalf("a vote: %d %v", code, h)
	}
	st, err := client.New(must(e.srv.emb.As("Org1/Admin"))).RuleStatus(context.Background(), "ecs@1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Proposal.Votes) != 1 || st.Proposal.Votes[0].Org != "Org2MSP" || st.Proposal.Votes[0].Decision != "approve" {
		t.Fatalf("votes on the ledger: %+v", st.Proposal.Votes)
	}
	_, _, body := e.page("Org2/Admin", "GET", "/rules/ecs@1.1.0", nil, "")
	pageHas(t, "rule after the vote", body, "1 approve, 0 reject")
	if strings.Contains(body, `/vote"`) {
		t.Fatalf("Org2 voted, yet is offered the vote again:\n%s", body)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// The Grafana dashboard in docs queries only series that /metrics has.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	e, _ := consoleEnv(t)
	r := e.get("Org1/Admin", "/metrics")
	want(t, r, 200)
	have := map[string]bool{}
	for _, line := range strings.Split(string(r.body), "\n") {
		// A family declared with # TYPE is there even before its
		// first sample (no refusal yet, say): a histogram as its
		// _bucket, _sum and _count series.
		if f := strings.Fields(line); len(f) == 4 && f[1] == "TYPE" {
			have[f[2]] = true
			if f[3] == "histogram" {
				have[f[2]+"_bucket"], have[f[2]+"_sum"], have[f[2]+"_count"] = true, true, true
			}
		}
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			have[name] = true
		}
	}
	series := regexp.MustCompile(`fedmeter_[a-z_]+`)
	n := 0
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range series.FindAllString(tg.Expr, -1) {
				n++
				if !have[name] {
					t.Errorf("panel %q queries %s, which /metrics does not have", p.Title, name)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("the dashboard queries no fedmeter series")
	}
}

// oldContract is a backend whose contract predates BillTotalsMonthly: it
// refuses it as the router refuses an unknown transaction, and counts the
// BillTotals calls.
type oldContract struct {
	client.Backend
	totals *int
}

func (o oldContract) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	switch fn {
	case "BillTotalsMonthly":
		return nil, client.RefusalError(fn, model.Refuse(model.CodeUnsupported, "function BillTotalsMonthly not found").Error(), "", nil)
	case "BillTotals":
		*o.totals++
	}
	return o.Backend.Evaluate(ctx, fn, args...)
}

// The overview's totals in one query, and the same from thirteen
// BillTotals on a contract without BillTotalsMonthly.
func TestOverviewTotalsFallback(t *testing.T) {
	e, _ := consoleEnv(t)
	for _, who := range []string{"Org1/Admin", "Org2/User1"} {
		org, _, _ := strings.Cut(who, "/")
		c, err := e.srv.clientFor(Token{As: who, MSPID: org + "MSP"})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		first := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC) // twelve months to February 2026
		tot, per, err := overviewTotals(r, c, first)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		oldTot, oldPer, err := overviewTotals(r, client.New(oldContract{c.Backend(), &n}), first)
		if err != nil {
			t.Fatal(err)
		}
		if n != overviewMonths+1 {
			t.Fatalf("%s: %d BillTotals on the old contract, want %d", who, n, overviewMonths+1)
		}
		got, old := mustJSON(t, []any{tot, per}), mustJSON(t, []any{oldTot, oldPer})
		if got != old {
			t.Fatalf("%s: overview totals\n one query %s\nthirteen   %s", who, got, old)
		}
		if len(tot.Receivable)+len(tot.Payable) == 0 || !strings.Contains(got, `"bills":2`) && !strings.Contains(got, `"bills":1`) {
			t.Fatalf("%s: no bills in the overview's totals: %s", who, got)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
