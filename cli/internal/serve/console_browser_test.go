package serve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/fedmeter/fedmeter/cli/client"
)

// The console in a real browser: Debian's Chromium, headless, driven with
// chromedp (the DevTools protocol; no WebDriver, no npm). The tests run
// whenever Chromium is found (CHROME_PATH, or chromium / chromium-browser
// / google-chrome on PATH) and skip, saying why, otherwise; with
// FEDMETER_REQUIRE_BROWSER=1 (set by .ci/run once it has installed
// Chromium) a missing browser fails instead.
//
// Screenshots are test output: in FEDMETER_SCREENSHOTS if set (a folder),
// else in the test's temporary folder. Regenerate docs/screenshots with
//
//	FEDMETER_SCREENSHOTS=$PWD/docs/screenshots go test -count=1 -run TestBrowser ./cli/internal/serve/
//
// from the repository's root: it writes console-overview.png and
// console-metrics.png, which docs keeps, and a few more, which
// docs/screenshots/.gitignore leaves out.

// browserPath finds Chromium, or says why there is none.
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium: set CHROME_PATH or put chromium on PATH (Debian: apt-get install chromium) to run the console's browser tests"
	if os.Getenv("FEDMETER_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (FEDMETER_REQUIRE_BROWSER=1: they are required here)")
	}
	t.Skip(msg)
	return ""
}

// browser is a headless Chromium in the zone tz, and where screenshots go.
type browser struct {
	t    *testing.T
	ctx  context.Context
	shot string
}

func newBrowser(t *testing.T, tz string) *browser {
	t.Helper()
	exe := browserPath(t)
	if testing.Short() {
		t.Skip("-short: the browser tests start Chromium")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // containers and CI run as root
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// A hang guard only: a loaded machine may be slow, never this slow.
	ctx, cancel3 := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel3)
	setZone := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tz})
		return err
	})
	if err := chromedp.Do(ctx, setZone); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	dir := os.Getenv("FEDMETER_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, shot: dir}
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	// Each step has its own hang guard, so a stuck step says which.
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.where())
	}
}

// where is the page the browser shows and its text, for a failure.
func (b *browser) where() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	txt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return loc + ":\n" + txt
}

// follow clicks what sel finds (a link, a form's button) and waits until
// the page it leads to has loaded; it returns that page's HTTP status.
func follow[S chromedp.Selectable](b *browser, what string, sel S) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.WaitVisible(sel), chromedp.Click(sel))
	if err != nil {
		b.t.Fatalf("%s: %v (at %s)", what, err, b.where())
	}
	return res.Status
}

// value runs an action that reads something.
func value[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// screenshot writes the whole page as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png := value(b, "screenshot "+name, chromedp.FullScreenshot(100))
	p := filepath.Join(b.shot, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return value(b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// login logs in at /login with who's token, as a person would.
func (b *browser) login(e *env, who string) {
	b.t.Helper()
	b.run("log in as "+who,
		chromedp.Navigate(e.ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="token"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), e.tokens[who]))
	if st := follow(b, "log in as "+who, chromedp.CSS(`form[action="/login"] button`)); st != 200 {
		b.t.Fatalf("log in as %s: the page after is %d", who, st)
	}
	if got := b.text("header .who"); !strings.Contains(got, who) {
		b.t.Fatalf("logged in as %q, want %s", got, who)
	}
}

func (b *browser) logout() {
	b.t.Helper()
	follow(b, "log out", chromedp.CSS(`form[action="/logout"] button`))
	b.run("log out", chromedp.WaitVisible(chromedp.CSS(`input[name="token"]`)))
}

// TestBrowserConsole walks the console as finance staff and as an admin:
// log in with a token, read the overview, open a bill and verify it, vote
// on a rule, and be refused another org's bill.
func TestBrowserConsole(t *testing.T) {
	b := newBrowser(t, "Asia/Shanghai") // first: a skip before any setup
	e, bills := consoleEnv(t)

	// Org2's finance: what it owes, per month, as a chart.
	b.login(e, "Org2/User1")
	b.run("overview", chromedp.WaitVisible(chromedp.CSS(`figure.chart svg rect`)))
	if h1 := b.text("h1"); h1 != "Overview" {
		t.Fatalf("the first page is %q", h1)
	}
	page := b.text("main")
	for _, want := range []string{"Payable per month (CNY)", "Org1MSP", " CNY"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the overview lacks %q:\n%s", want, page)
		}
	}
	bars := value(b, "count bars", chromedp.Evaluate[int](`document.querySelectorAll("figure.chart svg rect").length`))
	if bars < 1 {
		t.Fatal("the overview's chart has no bars")
	}
	b.screenshot("console-overview-payable")

	// The bills, then one bill: its lines, then "Verify offline".
	follow(b, "bills", chromedp.CSS(`header nav a[href="/bills"]`))
	if st := follow(b, "a bill", chromedp.CSS(`a[href="/bills/`+bills[0]+`"]`)); st != 200 {
		t.Fatalf("the bill's page: %d", st)
	}
	if h1 := b.text("h1"); h1 != "Bill "+bills[0] {
		t.Fatalf("the bill's page is %q", h1)
	}
	if lines := value(b, "count lines", chromedp.Evaluate[int](`document.querySelectorAll("main table")[1].rows.length - 1`)); lines < 1 {
		t.Fatal("the bill shows no lines")
	}
	// Times are in the viewer's zone (UTC+8 here), UTC on hover.
	local := b.text("main table time")
	utc := value(b, "a time's title", chromedp.AttributeValue(chromedp.CSS(`main table time`), "title")).Value
	if !strings.HasSuffix(local, "UTC+08:00") || !strings.HasSuffix(utc, " UTC") {
		t.Fatalf("a time reads %q (hover %q); want the viewer's zone, UTC+08:00, and UTC on hover", local, utc)
	}
	follow(b, "verify", chromedp.CSS(`#verify`))
	if v := b.text("main h2 span"); v != "every check holds" {
		t.Fatalf("verification: %q", v)
	}
	checks := value(b, "count checks", chromedp.Evaluate[int](`document.querySelectorAll("main table")[2].rows.length - 1`))
	oks := value(b, "count ok checks", chromedp.Evaluate[int](`document.querySelectorAll("main table")[2].querySelectorAll("span.ok").length`))
	if checks < 3 || oks != checks {
		t.Fatalf("the verification shows %d checks, %d ok", checks, oks)
	}
	b.screenshot("console-bill-verified")
	b.logout()

	// Org2's admin votes on the open rule; the tally shows it.
	b.login(e, "Org2/Admin")
	b.run("rules", chromedp.Navigate(e.ts.URL+"/rules"), chromedp.WaitVisible(chromedp.CSS(`figure.chart svg circle`)))
	follow(b, "a rule", chromedp.Search(`//a[text()="ecs@1.1.0"]`))
	if tally := b.text("#tally"); tally != "0 approve, 0 reject" {
		t.Fatalf("tally before the vote: %q", tally)
	}
	if st := follow(b, "approve", chromedp.CSS(`#approve`)); st != 200 {
		t.Fatalf("the page after the vote: %d", st)
	}
	if tally := b.text("#tally"); tally != "1 approve, 0 reject" {
		t.Fatalf("tally after the vote: %q", tally)
	}
	if vote := b.text(`tr.vote[data-org="Org2MSP"] .tag`); vote != "approve" {
		t.Fatalf("Org2's vote reads %q", vote)
	}
	if forms := value(b, "count forms", chromedp.Evaluate[int](`document.querySelectorAll("form.vote").length`)); forms != 0 {
		t.Fatal("the vote form is still offered after the vote")
	}
	b.screenshot("console-rule-voted")

	// The other pages draw their charts: usage over time, quotas as bars,
	// the activations' timeline (above), a price book's history.
	for _, pg := range []struct{ path, sel, shot string }{
		{"/usage?resource=ecs-1", `figure.chart svg rect`, "console-usage"},
		{"/quotas", `figure.chart svg rect`, "console-quotas"},
		{"/prices/Org1MSP/ecs", `main table td.num`, "console-price-book"},
		{"/rules", `figure.chart svg circle`, "console-rules"},
	} {
		res, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(e.ts.URL+pg.path))
		if err != nil || res.Status != 200 {
			t.Fatalf("%s: %v %v", pg.path, err, res)
		}
		b.run(pg.path, chromedp.WaitVisible(chromedp.CSS(pg.sel)))
		b.screenshot(pg.shot)
	}

	// The ledger and this server's metrics: the charts the Grafana
	// dashboard mirrors.
	b.run("ledger", chromedp.Navigate(e.ts.URL+"/rules"))
	follow(b, "ledger", chromedp.CSS(`header nav a[href="/ledger"]`))
	follow(b, "verify the ledger", chromedp.CSS(`#verify`))
	if v := b.text("#verified"); !strings.HasPrefix(v, "Verified") {
		t.Fatalf("ledger verification: %q", v)
	}
	b.screenshot("console-metrics")
	b.logout()

	// Org1's admin: what it is owed, per counterparty and month.
	b.login(e, "Org1/Admin")
	b.run("Org1's overview", chromedp.WaitVisible(chromedp.CSS(`figure.chart svg rect`)))
	if page := b.text("main"); !strings.Contains(page, "Receivable per month (CNY)") || !strings.Contains(page, "Org3MSP") {
		t.Fatalf("Org1's overview:\n%s", page)
	}
	b.screenshot("console-overview")
	b.logout()

	// A consumer of another org (Org3, a member but no party to the
	// bill): refused, on the page.
	tok, _, err := CreateToken(e.srv.TokenFile(), "Org3/User1", "Org3MSP", "browser test")
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["Org3/User1"] = tok
	b.login(e, "Org3/User1")
	res, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(e.ts.URL+"/bills/"+bills[0]))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 403 {
		t.Fatalf("Org3 reading Org1's bill to Org2: %d", res.Status)
	}
	if msg := b.text("p.error"); !strings.Contains(msg, "Org3MSP") {
		t.Fatalf("Org3 reading Org1's bill to Org2: %q", msg)
	}
	if strings.Contains(b.text("main"), "Amount") {
		t.Fatal("the refused bill's page shows the bill")
	}
	b.screenshot("console-refused")
}

// TestBrowserSettlement is the finance story in a browser: Org1's admin
// issues January's statement to Org2; Org2's admin opens it, sees it
// checked, acknowledges it and records the payment; Org1's admin confirms
// receipt, and the statement is paid.
func TestBrowserSettlement(t *testing.T) {
	b := newBrowser(t, "Europe/Berlin") // first: a skip before any setup
	e, bills := settleEnv(t)

	b.login(e, "Org1/Admin")
	follow(b, "statements", chromedp.CSS(`header nav a[href="/statements"]`))
	b.run("issue form",
		chromedp.WaitVisible(chromedp.CSS(`#issue`)),
		chromedp.SendKeys(chromedp.CSS(`#issue input[name="id"]`), "2026-01-Org2"),
		chromedp.SetValue(chromedp.CSS(`#issue select[name="consumer"]`), "Org2MSP"),
		chromedp.SendKeys(chromedp.CSS(`#issue input[name="currency"]`), "CNY"),
		chromedp.SetValue(chromedp.CSS(`#issue input[name="from"]`), "2026-01-01"),
		chromedp.SetValue(chromedp.CSS(`#issue input[name="to"]`), "2026-02-01"))
	if st := follow(b, "issue", chromedp.CSS(`#issue button`)); st != 200 {
		t.Fatalf("the page after issuing: %d (%s)", st, b.where())
	}
	if h1, flash, status := b.text("h1"), b.text("#flash"), b.text("#status"); h1 != "Statement 2026-01-Org2" || flash != "Statement issued." || status != "open" {
		t.Fatalf("after issuing: %q, %q, %q", h1, flash, status)
	}
	b.screenshot("console-statement-issued")
	b.logout()

	// Org2's admin: the statement in the list, checked, acknowledged, paid.
	b.login(e, "Org2/Admin")
	follow(b, "statements", chromedp.CSS(`header nav a[href="/statements"]`))
	if st := follow(b, "the statement", chromedp.CSS(`a[href="/statements/2026-01-Org2"]`)); st != 200 {
		t.Fatalf("the statement's page: %d", st)
	}
	if check := b.text("#check-ok"); !strings.HasPrefix(check, "Checked: the 2 bills listed") {
		t.Fatalf("check: %q", check)
	}
	if n := value(b, "bill links", chromedp.Evaluate[int](`document.querySelectorAll('table.lines a[href^="/bills/"]').length`)); n != len(bills) {
		t.Fatalf("%d bills linked, want %d", n, len(bills))
	}
	total := b.text("#total")
	// Times in the viewer's zone (Berlin: UTC+01:00 in January).
	if local := b.text("table.meta time"); !strings.HasSuffix(local, "UTC+01:00") {
		t.Fatalf("a time reads %q", local)
	}
	follow(b, "acknowledge", chromedp.CSS(`#acknowledge button`))
	if status := b.text("#status"); status != "acknowledged" {
		t.Fatalf("after acknowledging: %q (%s)", status, b.where())
	}
	amount := value(b, "the outstanding amount", chromedp.AttributeValue(chromedp.CSS(`#pay input[name="amount"]`), "placeholder")).Value
	if amount+" CNY" != total {
		t.Fatalf("the payment form suggests %q, the total is %q", amount, total)
	}
	b.run("payment form",
		chromedp.SendKeys(chromedp.CSS(`#pay input[name="reference"]`), "WIRE-2026-0142"),
		chromedp.SendKeys(chromedp.CSS(`#pay input[name="amount"]`), amount),
		chromedp.SetValue(chromedp.CSS(`#pay input[name="date"]`), "2026-02-03"))
	follow(b, "record payment", chromedp.CSS(`#pay button`))
	if flash := b.text("#flash"); !strings.HasPrefix(flash, "Payment recorded") {
		t.Fatalf("after paying: %q (%s)", flash, b.where())
	}
	if out := b.text("#outstanding"); out != "0.00 CNY" {
		t.Fatalf("outstanding after paying: %q", out)
	}
	b.screenshot("console-statement-payment")
	b.logout()

	// Org1's admin, the payee, confirms receipt: paid.
	b.login(e, "Org1/Admin")
	b.run("the statement", chromedp.Navigate(e.ts.URL+"/statements/2026-01-Org2"), chromedp.WaitVisible(chromedp.CSS(`form.confirm button`)))
	follow(b, "confirm", chromedp.CSS(`form.confirm button`))
	if status, confirmed := b.text("#status"), b.text("#confirmed"); status != "paid" || confirmed != total {
		t.Fatalf("after confirming: %q, confirmed %q (total %q)", status, confirmed, total)
	}
	b.screenshot("console-statement-paid")
	follow(b, "statements", chromedp.CSS(`header nav a[href="/statements"]`))
	if row := b.text(`tr[data-id="2026-01-Org2"] .tag`); row != "paid" {
		t.Fatalf("the list shows %q", row)
	}
}

// TestBrowserAllocation: Org1's admin grants Org2 a prepaid allocation in
// the browser, a February bill draws on it, and Org2 sees its balance
// drop.
func TestBrowserAllocation(t *testing.T) {
	b := newBrowser(t, "UTC") // first: a skip before any setup
	e, _ := settleEnv(t)

	b.login(e, "Org1/Admin")
	follow(b, "allocations", chromedp.CSS(`header nav a[href="/allocations"]`))
	b.run("grant form",
		chromedp.WaitVisible(chromedp.CSS(`#grant`)),
		chromedp.SetValue(chromedp.CSS(`#grant select[name="consumer"]`), "Org2MSP"),
		chromedp.SendKeys(chromedp.CSS(`#grant input[name="id"]`), "feb-2026"),
		chromedp.SendKeys(chromedp.CSS(`#grant input[name="amount"]`), "100.00"),
		chromedp.SendKeys(chromedp.CSS(`#grant input[name="currency"]`), "CNY"),
		chromedp.SetValue(chromedp.CSS(`#grant input[name="from"]`), "2026-02-01"),
		chromedp.SetValue(chromedp.CSS(`#grant input[name="to"]`), "2026-03-01"))
	if st := follow(b, "grant", chromedp.CSS(`#grant button`)); st != 200 {
		t.Fatalf("the page after granting: %d (%s)", st, b.where())
	}
	if flash, bal := b.text("#flash"), b.text(`tr[data-id="feb-2026"] td[data-balance]`); flash != "Allocation granted." || bal != "100.00 CNY" {
		t.Fatalf("after granting: %q, balance %q (%s)", flash, bal, b.where())
	}
	b.screenshot("console-allocation-granted")
	b.logout()

	bill := e.febBill(t, "ecs-feb")

	b.login(e, "Org2/User1")
	follow(b, "allocations", chromedp.CSS(`header nav a[href="/allocations"]`))
	want := client.FormatMoney(10000-bill.Amount, 2) + " CNY"
	if bal := b.text(`tr[data-id="feb-2026"] td[data-balance]`); bal != want {
		t.Fatalf("Org2 sees a balance of %q after a bill of %d, want %q (%s)", bal, bill.Amount, want, b.where())
	}
	b.screenshot("console-allocation-held")
}
