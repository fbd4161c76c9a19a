package serve

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/verify"
)

// The console: server-rendered pages for finance staff (an overview of
// receivables and payables per counterparty, the bills with filters, a
// bill with its lines and a verify button). Templates are embedded in the
// binary; no script, no build step, no CDN.
//
// A browser logs in with a token (the same bearer tokens as the API) at
// /login: the server keeps it in an HttpOnly, SameSite=Strict cookie. The
// console only reads; its two forms (login, logout) refuse requests of
// another origin. The API never reads the cookie, so a cross-site page
// cannot make a logged-in browser write through it.

//go:embed templates/*.html
var templateFS embed.FS

var consoleTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"money": func(amount int64, scale int, currency string) string {
		return client.FormatMoney(amount, scale) + " " + currency
	},
	"time": func(unix int64) string {
		if unix == 0 {
			return ""
		}
		return time.Unix(unix, 0).UTC().Format("2006-01-02 15:04 UTC")
	},
	"rfc3339": func(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) },
	"path":    url.PathEscape,
}).ParseFS(templateFS, "templates/*.html"))

const sessionCookie = "fedmeter_session"

// consolePath reports whether a path is the console's (not the API's).
func consolePath(p string) bool {
	return p == "/" || p == "/login" || p == "/logout" || p == "/bills" || strings.HasPrefix(p, "/bills/")
}

func (s *Server) consoleRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.page(s.overviewPage))
	m.HandleFunc("GET /bills", s.page(s.billsPage))
	m.HandleFunc("GET /bills/{id}", s.page(s.billPage))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such page", http.StatusNotFound)
	})
	return m
}

// sameOrigin refuses a form posted from another site (Origin, or the
// browser's Sec-Fetch-Site).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
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
	Data  any
}

// page wraps a console page: the session's identity, or the login page.
func (s *Server) page(f func(r *http.Request, c *client.Client) (string, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(sessionCookie)
		var t Token
		var ok bool
		if err == nil {
			t, ok, err = s.tokens.lookup(ck.Value)
		}
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		c, err := s.clientFor(t)
		if err != nil {
			s.render(w, http.StatusForbidden, "error", pageData{Title: "Refused", Error: problemOf(err, "").Detail})
			return
		}
		name, data, err := f(r, c)
		pd := pageData{Who: t.As, MSPID: t.MSPID, Data: data}
		if err != nil {
			p := problemOf(err, r.URL.Path)
			pd.Title, pd.Error = p.Title, p.Detail
			s.render(w, p.Status, "error", pd)
			return
		}
		s.render(w, http.StatusOK, name, pd)
	}
}

func (s *Server) render(w http.ResponseWriter, status int, name string, pd pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	consoleTemplates.ExecuteTemplate(w, name+".html", pd)
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

func (s *Server) overviewPage(r *http.Request, c *client.Client) (string, any, error) {
	t, err := c.Totals(r.Context(), time.Time{}, time.Time{})
	return "overview", t, err
}

type billsData struct {
	Role, From, To string
	Bills          []model.Bill
	Next           string
}

func (s *Server) billsPage(r *http.Request, c *client.Client) (string, any, error) {
	q := r.URL.Query()
	// The console's dates are days (YYYY-MM-DD) or RFC 3339.
	for _, k := range []string{"from", "to"} {
		if v := q.Get(k); len(v) == 10 {
			q.Set(k, v+"T00:00:00Z")
		}
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
	d := billsData{Role: q.Get("role"), From: r.URL.Query().Get("from"), To: r.URL.Query().Get("to"), Bills: p.Items}
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
}

func (s *Server) billPage(r *http.Request, c *client.Client) (string, any, error) {
	b, err := c.Bill(r.Context(), r.PathValue("id"))
	if err != nil {
		return "", nil, err
	}
	d := billData{Bill: b}
	if r.URL.Query().Get("verify") != "" {
		_, v, err := s.verifyBill(r, c)
		if err != nil {
			return "", nil, err
		}
		d.Verify = v.(*verify.Verification)
	}
	return "bill", d, nil
}
