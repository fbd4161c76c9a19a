package serve

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/verify"
)

// The console: server-rendered pages for finance staff and org admins:
// an overview of receivables and payables per counterparty and month
// (charts), the bills with filters, a bill with its lines and a verify
// button, usage per resource over time, resources held against quotas,
// price books and their history, rules with their votes and activations
// (approve/reject forms for admins), and the embedded ledger (height, head
// hash, verify) with this server's metrics. Templates and the one small
// script (static/console.js: times in the viewer's zone) are embedded in
// the binary; charts are inline SVG drawn on the server (console_charts.go);
// no CDN, no build step.
//
// A browser logs in with a token (the same bearer tokens as the API) at
// /login: the server keeps it in an HttpOnly, SameSite=Strict cookie. Every
// form that writes (login, logout, a vote) refuses requests of another
// origin (sameOrigin: Origin and Sec-Fetch-Site), on top of the cookie's
// SameSite. The API never reads the cookie, so a cross-site page cannot
// make a logged-in browser write through it.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var consoleTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"money": func(amount int64, scale int, currency string) string {
		return client.FormatMoney(amount, scale) + " " + currency
	},
	"amount": client.FormatMoney, // a form's value: no currency
	"time": func(unix int64) string {
		if unix == 0 {
			return ""
		}
		return time.Unix(unix, 0).UTC().Format("2006-01-02 15:04 UTC")
	},
	"when":     when,
	"rfc3339":  func(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) },
	"path":     url.PathEscape,
	"query":    url.QueryEscape,
	"join":     strings.Join,
	"pct":      pct,
	"navItems": func() []navItem { return nav },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).ParseFS(templateFS, "templates/*.html"))

// navItem is an entry of the console's menu.
type navItem struct{ Key, Href, Label string }

var nav = []navItem{{"overview", "/", "Overview"}, {"bills", "/bills", "Bills"}, {"statements", "/statements", "Statements"}, {"allocations", "/allocations", "Allocations"}, {"usage", "/usage", "Usage"}, {"quotas", "/quotas", "Quotas"},
	{"prices", "/prices", "Prices"}, {"rules", "/rules", "Rules"}, {"ledger", "/ledger", "Ledger"}}

// when is a time for the page: a <time> element whose text is UTC;
// static/console.js rewrites it in the viewer's zone and keeps UTC on
// hover (the title).
func when(unix int64) template.HTML {
	if unix == 0 {
		return ""
	}
	t := time.Unix(unix, 0).UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `" title="` + t.Format("2006-01-02 15:04:05 UTC") + `">` +
		t.Format("2006-01-02 15:04 UTC") + `</time>`)
}

// pct is used of limit in whole percent, at most 100 (a bar's width).
func pct(used, limit int64) int64 {
	if limit <= 0 || used <= 0 {
		return 0
	}
	if used >= limit {
		return 100
	}
	return scaleTo(used, limit, 100)
}

const sessionCookie = "fedmeter_session"

// consolePath reports whether a path is the console's (not the API's).
func consolePath(p string) bool {
	switch p {
	case "/", "/login", "/logout", "/bills", "/statements", "/allocations", "/usage", "/quotas", "/prices", "/rules", "/ledger", "/favicon.ico":
		return true
	}
	for _, pfx := range []string{"/bills/", "/statements/", "/allocations/", "/usage/", "/prices/", "/rules/", "/static/"} {
		if strings.HasPrefix(p, pfx) {
			return true
		}
	}
	return false
}

func (s *Server) consoleRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.page(s.overviewPage))
	m.HandleFunc("GET /bills", s.page(s.billsPage))
	m.HandleFunc("GET /bills/{id}", s.page(s.billPage))
	// settlement (console_settle.go)
	m.HandleFunc("GET /statements", s.page(s.statementsPage))
	m.HandleFunc("POST /statements", s.form("statements", s.statementsPage, s.issueForm))
	m.HandleFunc("GET /statements/{id}", s.page(s.statementPage))
	m.HandleFunc("GET /statements/{id}/print", s.statementPrint)
	m.HandleFunc("GET /statements/{id}/export.csv", s.statementCSV)
	m.HandleFunc("POST /statements/{id}/acknowledge", s.form("statements", s.statementPage, s.acknowledgeForm))
	m.HandleFunc("POST /statements/{id}/dispute", s.form("statements", s.statementPage, s.disputeForm))
	m.HandleFunc("POST /statements/{id}/payments", s.form("statements", s.statementPage, s.paymentForm))
	m.HandleFunc("POST /statements/{id}/payments/{reference}/confirm", s.form("statements", s.statementPage, s.confirmForm))
	m.HandleFunc("POST /statements/{id}/void", s.form("statements", s.statementPage, s.voidForm))
	m.HandleFunc("POST /bills/{id}/credits", s.form("bills", s.billPage, s.creditForm))
	// allocations, re-rating, usage corrections (console_alloc.go)
	m.HandleFunc("GET /allocations", s.page(s.allocationsPage))
	m.HandleFunc("POST /allocations", s.form("allocations", s.allocationsPage, s.grantForm))
	m.HandleFunc("POST /allocations/{consumer}/{id}/topups", s.form("allocations", s.allocationsPage, s.topUpForm))
	m.HandleFunc("POST /bills/{id}/rerate", s.form("bills", s.billPage, s.rerateForm))
	m.HandleFunc("POST /usage/{id}/corrections", s.form("usage", s.usagePage, s.correctForm))
	m.HandleFunc("GET /usage", s.page(s.usagePage))
	m.HandleFunc("GET /quotas", s.page(s.quotasPage))
	m.HandleFunc("GET /prices", s.page(s.pricesPage))
	m.HandleFunc("GET /prices/{provider}/{type}", s.page(s.pricePage))
	m.HandleFunc("GET /rules", s.page(s.rulesPage))
	m.HandleFunc("GET /rules/{ref}", s.page(s.rulePage))
	m.HandleFunc("POST /rules/{ref}/vote", s.form("rules", s.rulePage, s.voteForm))
	m.HandleFunc("GET /ledger", s.page(s.ledgerPage))
	m.HandleFunc("GET /static/", s.static)
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such page", http.StatusNotFound)
	})
	return m
}

// sameOrigin refuses a form posted from another site: the browser's
// Sec-Fetch-Site when it sends one (same-origin, or none for a typed
// URL), else the Origin header's host. The pages' Referrer-Policy is
// same-origin, not no-referrer: under no-referrer a browser sends
// "Origin: null" with the console's own forms.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

type pageData struct {
	Title string
	Who   string
	MSPID string
	Error string
	Nav   string // the menu entry of the page
	Data  any
}

// session is the identity of the request's session cookie: its token and
// client; ok false when there is none (the login page), a problem when
// its identity is refused.
func (s *Server) session(r *http.Request) (Token, *client.Client, bool, error) {
	ck, err := r.Cookie(sessionCookie)
	var t Token
	var ok bool
	if err == nil {
		t, ok, err = s.tokens.lookup(ck.Value)
	}
	if !ok || err != nil {
		return t, nil, false, nil
	}
	c, err := s.clientFor(t)
	return t, c, true, err
}

// pageFunc renders a console page: its template's name and data.
type pageFunc func(r *http.Request, c *client.Client) (string, any, error)

// page wraps a console page: the session's identity, or the login page.
func (s *Server) page(f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, c, ok, err := s.session(r)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			s.render(w, http.StatusForbidden, "error", pageData{Title: "Refused", Error: problemOf(err, "").Detail})
			return
		}
		name, data, err := f(r, c)
		pd := pageData{Who: t.As, MSPID: t.MSPID, Data: data, Nav: navOf(r.URL.Path)}
		if err != nil {
			p := problemOf(err, r.URL.Path)
			pd.Title, pd.Error = p.Title, p.Detail
			s.render(w, p.Status, "error", pd)
			return
		}
		pd.Title = titles[name]
		s.render(w, http.StatusOK, name, pd)
	}
}

// titles are the pages' titles, by template.
var titles = map[string]string{"overview": "Overview", "bills": "Bills", "bill": "Bill", "statements": "Statements", "statement": "Statement", "allocations": "Allocations", "usage": "Usage", "quotas": "Quotas",
	"prices": "Prices", "price": "Price book", "rules": "Rules", "rule": "Rule", "ledger": "Ledger"}

func navOf(p string) string {
	if p == "/" {
		return "overview"
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return seg
}

func (s *Server) render(w http.ResponseWriter, status int, name string, pd pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	var b bytes.Buffer
	if err := consoleTemplates.ExecuteTemplate(&b, name+".html", pd); err != nil {
		// A page that cannot be drawn is a bug of the console: say so
		// instead of sending half a page.
		b.Reset()
		status = http.StatusInternalServerError
		consoleTemplates.ExecuteTemplate(&b, "error.html", pageData{Title: "Internal error", Who: pd.Who, MSPID: pd.MSPID,
			Error: "this page cannot be drawn (a bug in fedmeter serve's console): " + err.Error()})
	}
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// static serves the console's embedded assets (its script).
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile(strings.TrimPrefix(r.URL.Path, "/"))
	if err != nil {
		http.Error(w, "no such file", http.StatusNotFound)
		return
	}
	ct := "application/octet-stream"
	switch path.Ext(r.URL.Path) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Write(b)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", pageData{Title: "Log in"})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.render(w, http.StatusForbidden, "login", pageData{Title: "Log in", Error: "this form was posted from another site"})
		return
	}
	tok := strings.TrimSpace(r.PostFormValue("token"))
	if _, ok, _ := s.tokens.lookup(tok); !ok {
		s.render(w, http.StatusUnauthorized, "login", pageData{Title: "Log in", Error: "this token is not one of this server's: unknown or revoked"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "this form was posted from another site", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type billsData struct {
	Role, From, To, Resource string
	Bills                    []model.Bill
	Next                     string
}

func (s *Server) billsPage(r *http.Request, c *client.Client) (string, any, error) {
	q := r.URL.Query()
	// The console's dates are days (YYYY-MM-DD) or RFC 3339.
	for _, k := range []string{"from", "to"} {
		if v := q.Get(k); len(v) == 10 {
			q.Set(k, v+"T00:00:00Z")
		}
	}
	if q.Get("resource") != "" {
		// One resource's bills: the other filters do not apply.
		q.Del("role")
		q.Del("from")
		q.Del("to")
	} else {
		q.Del("resource")
	}
	if q.Get("page_size") == "" {
		q.Set("page_size", "50")
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	_, v, err := s.listBills(r2, c)
	if err != nil {
		return "", nil, err
	}
	p := v.(*Page[model.Bill])
	d := billsData{Role: q.Get("role"), Resource: q.Get("resource"), Bills: p.Items}
	if d.Resource == "" {
		d.From, d.To = r.URL.Query().Get("from"), r.URL.Query().Get("to")
	}
	if p.NextPageToken != "" {
		nq := r.URL.Query()
		nq.Set("page_token", p.NextPageToken)
		d.Next = "/bills?" + nq.Encode()
	}
	return "bills", d, nil
}

type billData struct {
	Bill   *model.Bill
	Verify *verify.Verification
	// console_settle.go: its credit notes and adjustments, the credit form.
	Credits   []model.Bill
	CanCredit bool
	Flash     string
	// console_alloc.go: the re-rating form, the adjustment it issued.
	CanRerate  bool
	Adjustment *model.Bill
}

func (s *Server) billPage(r *http.Request, c *client.Client) (string, any, error) {
	b, err := c.Bill(r.Context(), r.PathValue("id"))
	if err != nil {
		return "", nil, err
	}
	d := billData{Bill: b}
	if err := s.billCredits(r, c, &d); err != nil {
		return "", nil, err
	}
	s.billRerate(r, c, &d)
	if r.URL.Query().Get("verify") != "" {
		_, v, err := s.verifyBill(r, c)
		if err != nil {
			return "", nil, err
		}
		d.Verify = v.(*verify.Verification)
	}
	return "bill", d, nil
}
