package serve

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/network/embedded"
)

// The console's pages beyond the bills (console.go): each reads through
// the session's client, as the API's routes do, so it shows exactly what
// that identity may see.

// now is the server's clock: the embedded ledger's (Options.Clock), or
// the wall clock. The console uses it only to choose which months and
// which span of time to draw.
func (s *Server) now() time.Time {
	if s.o.Clock != nil {
		return s.o.Clock().UTC()
	}
	return time.Now().UTC()
}

// ---- overview ----

// overviewMonths is how many months the overview's charts cover.
const overviewMonths = 12

type overviewData struct {
	*model.Totals
	Charts []overviewChart
}

type overviewChart struct {
	Heading string
	Chart   chart
}

func (s *Server) overviewPage(r *http.Request, c *client.Client) (string, any, error) {
	// The months: the last overviewMonths up to this one, each from the
	// contract's totals of bills whose period ends in it; and the totals
	// of all time.
	now := s.now()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1-overviewMonths, 0)
	months := make([]string, overviewMonths)
	for i := range months {
		months[i] = first.AddDate(0, i, 0).Format("2006-01")
	}
	t, per, err := overviewTotals(r, c, first)
	if err != nil {
		return "", nil, err
	}
	d := overviewData{Totals: t}
	if len(t.Receivable) == 0 && len(t.Payable) == 0 {
		return "overview", d, nil
	}
	for _, side := range []struct {
		name string
		of   func(*model.Totals) []model.Total
	}{
		{"Receivable", func(t *model.Totals) []model.Total { return t.Receivable }},
		{"Payable", func(t *model.Totals) []model.Total { return t.Payable }},
	} {
		// One chart per currency (amounts of two currencies never add);
		// a series per counterparty.
		scales := map[string]int{}
		parties := map[string]map[string][]int64{} // currency -> counterparty -> per month
		for i, mt := range per {
			for _, tot := range side.of(mt) {
				scales[tot.Currency] = tot.Scale
				if parties[tot.Currency] == nil {
					parties[tot.Currency] = map[string][]int64{}
				}
				v := parties[tot.Currency][tot.Counterparty]
				if v == nil {
					v = make([]int64, overviewMonths)
					parties[tot.Currency][tot.Counterparty] = v
				}
				v[i] += tot.Amount
			}
		}
		for _, cur := range slices.Sorted(maps.Keys(parties)) {
			var ss []series
			for _, p := range slices.Sorted(maps.Keys(parties[cur])) {
				ss = append(ss, series{Name: p, Values: parties[cur][p]})
			}
			scale := scales[cur]
			head := side.name + " per month (" + cur + ")"
			d.Charts = append(d.Charts, overviewChart{Heading: head, Chart: stackedBars(head+" by counterparty", months, ss,
				func(v int64) string { return client.FormatMoney(v, scale) + " " + cur })})
		}
	}
	return "overview", d, nil
}

// overviewTotals returns the caller's totals of all time and of the
// overviewMonths months from first: one query of the contract
// (BillTotalsMonthly with all time: one read of the org's bill index) or,
// on a ledger whose contract predates it, BillTotals of all time and of
// each month (thirteen reads; at 100,000 bills a third of a second on the
// project's machine, docs/benchmarks.md).
func overviewTotals(r *http.Request, c *client.Client, first time.Time) (*model.Totals, []*model.Totals, error) {
	ctx := r.Context()
	per := make([]*model.Totals, overviewMonths)
	mt, err := c.MonthlyTotals(ctx, first, overviewMonths, true)
	var ce *client.Error
	switch {
	case err == nil && len(mt.Months) == overviewMonths && mt.AllTime != nil:
		for i, m := range mt.Months {
			per[i] = &model.Totals{Org: mt.Org, From: m.From, To: m.To, Receivable: m.Receivable, Payable: m.Payable}
		}
		return &model.Totals{Org: mt.Org, Receivable: mt.AllTime.Receivable, Payable: mt.AllTime.Payable}, per, nil
	case err == nil:
		return nil, nil, fmt.Errorf("the contract's monthly totals have %d months (all time: %t), %d and all time were asked for", len(mt.Months), mt.AllTime != nil, overviewMonths)
	case !errors.As(err, &ce) || ce.Code != model.CodeUnsupported:
		return nil, nil, err
	}
	t, err := c.Totals(ctx, time.Time{}, time.Time{})
	if err != nil {
		return nil, nil, err
	}
	for i := range per {
		from := first.AddDate(0, i, 0)
		if per[i], err = c.Totals(ctx, from, from.AddDate(0, 1, 0)); err != nil {
			return nil, nil, err
		}
	}
	return t, per, nil
}

// ---- usage ----

// usageLimit is how many of a resource's usage records the page reads
// (one page of the contract's list): the chart says when there are more.
const usageLimit = 500

// resourceLimit is how many resources of each role the usage page lists
// (one page of the contract's list; GET /api/v1/resources pages on).
const resourceLimit = 200

// usageBuckets is how many columns a usage chart has at most.
const usageBuckets = 48

type usageData struct {
	Resources []model.Resource
	Resource  *model.Resource
	Records   int
	More      bool
	Charts    []overviewChart
	// console_alloc.go: the records listed (corrections with what they
	// correct), the correction forms for the resource's provider.
	List       []model.UsageRecord
	CanCorrect bool
	Flash      string
}

// usageListed is how many of a resource's records the page lists.
const usageListed = 200

func (s *Server) usagePage(r *http.Request, c *client.Client) (string, any, error) {
	ctx := r.Context()
	id := r.URL.Query().Get("resource")
	if id == "" {
		id = r.PathValue("id") // a refused correction form
	}
	d := usageData{Flash: flashOf(r)}
	if id == "" {
		for _, role := range []string{"provider", "consumer"} {
			res, next, err := evalPage[model.Resource](r, c, "ResourceList", role, "", strconv.Itoa(resourceLimit), "")
			if err != nil {
				return "", nil, err
			}
			d.Resources = append(d.Resources, res...)
			d.More = d.More || next != ""
		}
		return "usage", d, nil
	}
	res, err := c.Resource(ctx, id)
	if err != nil {
		return "", nil, err
	}
	d.Resource = res
	recs, next, err := evalPage[model.UsageRecord](r, c, "UsageList", id, strconv.Itoa(usageLimit), "")
	if err != nil {
		return "", nil, err
	}
	d.Records, d.More = len(recs), next != ""
	d.List, d.CanCorrect = recs[:min(len(recs), usageListed)], res.Provider == c.MSPID()
	if len(recs) == 0 {
		return "usage", d, nil
	}
	// Columns of equal time from the first record's start to the last
	// one's end; a record counts in the column of its end.
	start, end := recs[0].Start, recs[0].End
	byMetric := map[string][]model.UsageRecord{}
	for _, u := range recs {
		start, end = min(start, u.Start), max(end, u.End)
		byMetric[u.Metric] = append(byMetric[u.Metric], u)
	}
	span := end - start
	step := int64(3600)
	for span/step > usageBuckets {
		step *= 2
	}
	start = start - start%3600
	n := int((end - start + step - 1) / step)
	if n < 1 {
		n = 1
	}
	labels := make([]string, n)
	for i := range labels {
		t := time.Unix(start+int64(i)*step, 0).UTC()
		labels[i] = t.Format("01-02 15:04")
	}
	for _, m := range slices.Sorted(maps.Keys(byMetric)) {
		vals := make([]int64, n)
		var total int64
		for _, u := range byMetric[m] {
			i := int((u.End - 1 - start) / step)
			if i < 0 {
				i = 0
			}
			if i >= n {
				i = n - 1
			}
			vals[i] += u.Quantity
			total += u.Quantity
		}
		head := m + " (total " + strconv.FormatInt(total, 10) + ", columns of " + (time.Duration(step) * time.Second).String() + ", UTC)"
		d.Charts = append(d.Charts, overviewChart{Heading: head, Chart: stackedBars(m+" over time", labels, []series{{Name: m, Values: vals}}, count(""))})
	}
	return "usage", d, nil
}

// ---- quotas ----

type quotaView struct {
	Quota *model.Quota
	Chart chart
}

type quotasData struct {
	Granted  []quotaView // the caller's org as provider
	Received []quotaView // as consumer
}

func (s *Server) quotasPage(r *http.Request, c *client.Client) (string, any, error) {
	ctx := r.Context()
	cons, err := c.Consortium(ctx)
	if err != nil {
		return "", nil, err
	}
	me := c.MSPID()
	var d quotasData
	for _, org := range cons.Members {
		if org == me {
			continue
		}
		for _, dir := range []struct {
			provider, consumer string
			to                 *[]quotaView
		}{{me, org, &d.Granted}, {org, me, &d.Received}} {
			q, err := c.Quota(ctx, dir.provider, dir.consumer)
			if err != nil {
				var ce *client.Error
				if errors.As(err, &ce) && (ce.Kind == client.KindNotFound || ce.Code == model.CodeNotFound) {
					continue // no quota between the two
				}
				return "", nil, err
			}
			var rows []hbar
			for _, k := range slices.Sorted(maps.Keys(q.Limits)) {
				used, limit := q.Used[k], q.Limits[k]
				rows = append(rows, hbar{Label: k, Value: used, Of: limit,
					Text: strconv.FormatInt(used, 10) + " of " + strconv.FormatInt(limit, 10) + " (" + strconv.FormatInt(pct(used, limit), 10) + "%)"})
			}
			*dir.to = append(*dir.to, quotaView{Quota: q, Chart: hbars("Held against the quota of "+q.Consumer+" at "+q.Provider, rows)})
		}
	}
	return "quotas", d, nil
}

// ---- prices ----

// priceText is a price book entry's value for unit u: money with its
// currency, or a plain quantity for a parameter (free_..., ..._upto_...).
func priceText(e *model.PriceEntry, u string) string {
	v, ok := e.UnitPrices[u]
	if !ok {
		return "–"
	}
	if e.IsParameter(u) {
		return strconv.FormatInt(v, 10)
	}
	return client.FormatMoney(v, e.Scale) + " " + e.Currency
}

type priceInForce struct {
	client.PriceInForce
	Prices []string // "unit: price", by unit
}

func (s *Server) pricesPage(r *http.Request, c *client.Client) (string, any, error) {
	p, _, err := evalPage[client.PriceInForce](r, c, "PriceList", r.URL.Query().Get("provider"), "200", "")
	if err != nil {
		return "", nil, err
	}
	out := make([]priceInForce, len(p))
	for i := range p {
		out[i].PriceInForce = p[i]
		for _, u := range slices.Sorted(maps.Keys(p[i].Entry.UnitPrices)) {
			out[i].Prices = append(out[i].Prices, u+": "+priceText(&p[i].Entry, u))
		}
	}
	return "prices", out, nil
}

type priceData struct {
	Book  *model.PriceBook
	Units []string // every unit named in the book, sorted
	Rows  []priceRow
}

type priceRow struct {
	Entry *model.PriceEntry
	Cells []string // by Units
}

func (s *Server) pricePage(r *http.Request, c *client.Client) (string, any, error) {
	pb, err := c.PriceHistory(r.Context(), r.PathValue("provider"), r.PathValue("type"))
	if err != nil {
		return "", nil, err
	}
	units := map[string]bool{}
	for _, e := range pb.Entries {
		for u := range e.UnitPrices {
			units[u] = true
		}
	}
	d := priceData{Book: pb, Units: slices.Sorted(maps.Keys(units))}
	for i := range pb.Entries {
		row := priceRow{Entry: &pb.Entries[i]}
		for _, u := range d.Units {
			row.Cells = append(row.Cells, priceText(&pb.Entries[i], u))
		}
		d.Rows = append(d.Rows, row)
	}
	return "price", d, nil
}

// ---- rules ----

type rulesData struct {
	Rules    []model.Rule
	Timeline *chart
}

func (s *Server) rulesPage(r *http.Request, c *client.Client) (string, any, error) {
	ctx := r.Context()
	rules, _, err := evalPage[model.Rule](r, c, "RuleList", "200", "")
	if err != nil {
		return "", nil, err
	}
	d := rulesData{Rules: rules}
	types := map[string]bool{}
	for _, ru := range rules {
		for _, t := range ru.ResourceTypes {
			types[t] = true
		}
	}
	var rows []timelineRow
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		acts, err := c.Activations(ctx, typ)
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && (ce.Kind == client.KindNotFound || ce.Code == model.CodeNotFound) {
				continue
			}
			return "", nil, err
		}
		row := timelineRow{Label: typ}
		for _, a := range acts.Entries {
			tip := a.Name + "@" + a.Version + " bills " + typ + " from " + time.Unix(a.EffectiveFrom, 0).UTC().Format("2006-01-02 15:04 UTC")
			if a.Revoked != nil {
				tip += " (revoked " + time.Unix(a.Revoked.Time, 0).UTC().Format("2006-01-02") + ")"
			}
			row.Events = append(row.Events, timelineEvent{At: a.EffectiveFrom, Label: a.Name + "@" + a.Version, Bad: a.Revoked != nil, Tip: tip})
		}
		if len(row.Events) > 0 {
			rows = append(rows, row)
		}
	}
	if len(rows) > 0 {
		tl := timeline("Activations by resource type", rows, s.now().Unix(),
			func(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02") })
		d.Timeline = &tl
	}
	return "rules", d, nil
}

// tally is a proposal's vote per org of its electorate.
type tally struct {
	P        *model.Proposal
	Orgs     []orgVote
	Approves int
	Rejects  int
	// CanVote: the caller's org may still vote on it (open, in the
	// electorate, not yet voted) and the caller is not known to lack the
	// admin role.
	CanVote bool
}

type orgVote struct {
	Org      string
	Decision string // approve, reject or ""
	By       string
	At       int64
}

func tallyOf(p *model.Proposal, me string, admin bool) *tally {
	if p == nil {
		return nil
	}
	t := &tally{P: p}
	voted := false
	for _, org := range p.Electorate {
		ov := orgVote{Org: org}
		for _, v := range p.Votes {
			if v.Org == org {
				ov.Decision, ov.By, ov.At = v.Decision, v.By, v.Time
			}
		}
		switch ov.Decision {
		case model.VoteApprove:
			t.Approves++
		case model.VoteReject:
			t.Rejects++
		}
		if org == me && ov.Decision != "" {
			voted = true
		}
		t.Orgs = append(t.Orgs, ov)
	}
	inElectorate := false
	for _, org := range p.Electorate {
		inElectorate = inElectorate || org == me
	}
	t.CanVote = p.Status == model.ProposalOpen && inElectorate && !voted && admin
	return t
}

type ruleData struct {
	Status     *client.RuleStatus
	Ref        string
	Approval   *tally
	Revocation *tally
	Admin      bool
}

func (s *Server) rulePage(r *http.Request, c *client.Client) (string, any, error) {
	st, err := c.RuleStatus(r.Context(), r.PathValue("ref"))
	if err != nil {
		return "", nil, err
	}
	t, _, _, _ := s.session(r)
	admin := s.mayBeAdmin(t)
	me := c.MSPID()
	return "rule", ruleData{Status: st, Ref: st.Rule.Name + "@" + st.Rule.Version, Admin: admin,
		Approval: tallyOf(st.Proposal, me, admin), Revocation: tallyOf(st.Revocation, me, admin)}, nil
}

// mayBeAdmin is false when the token's identity is a local one known not
// to be an admin (its role in the ledger folder's config); the contract
// decides in every case, this only hides forms that would be refused.
func (s *Server) mayBeAdmin(t Token) bool {
	if s.emb == nil {
		return true
	}
	org, user, _ := strings.Cut(t.As, "/")
	o := s.emb.Config().Org(org)
	if o == nil {
		return true
	}
	for _, u := range o.Users {
		if strings.EqualFold(u.Name, user) {
			return u.Role == "admin"
		}
	}
	return true
}

// voteForm is the rule page's approve/reject form (console form): a vote
// as the session's identity, then back to the rule.
func (s *Server) voteForm(r *http.Request, c *client.Client) (string, error) {
	ref, decision := r.PathValue("ref"), r.PostFormValue("decision")
	if decision != model.VoteApprove && decision != model.VoteReject {
		return "", badArg("decision %q is not valid: it must be approve or reject", decision)
	}
	vote := c.VoteRule
	if r.PostFormValue("revocation") != "" {
		vote = c.VoteRevocation
	}
	if _, _, err := vote(r.Context(), ref, decision); err != nil {
		return "", err
	}
	return "/rules/" + url.PathEscape(ref) + "?voted=" + url.QueryEscape(decision), nil
}

// ---- ledger ----

type ledgerData struct {
	Info     *LedgerInfo
	Fabric   bool
	Verified bool
	VerifyOK bool
	VerifyEr string
	Metrics  []overviewChart
	Bills    uint64
	Records  map[string]uint64
}

func (s *Server) ledgerPage(r *http.Request, c *client.Client) (string, any, error) {
	var d ledgerData
	if s.emb == nil {
		d.Fabric = true
	} else {
		_, v, err := s.ledgerInfo(r, c)
		if err != nil {
			return "", nil, err
		}
		info := v.(LedgerInfo)
		d.Info = &info
		if r.URL.Query().Get("verify") != "" {
			d.Verified = true
			led := s.emb.Ledger()
			if led == nil {
				return "", nil, client.Errorf(client.KindLedger, "the embedded ledger is not open")
			}
			if err := led.Verify(); err != nil {
				var ve *embedded.VerifyError
				if !errors.As(err, &ve) {
					return "", nil, client.Errorf(client.KindLedger, "the ledger could not be verified: %v", err)
				}
				d.VerifyEr = ve.Error()
			} else {
				d.VerifyOK = true
			}
		}
	}
	d.Metrics, d.Bills, d.Records = s.metricsCharts()
	return "ledger", d, nil
}

// metricsCharts draws the series of /metrics that docs/grafana-dashboard.json
// charts: requests by route and status class, request time by bucket,
// usage records by outcome; and the bills issued.
func (s *Server) metricsCharts() ([]overviewChart, uint64, map[string]uint64) {
	m := s.metrics
	m.mu.Lock()
	byRoute := map[string][3]int64{} // 2xx/3xx, 4xx, 5xx
	for k, n := range m.requests {
		v := byRoute[k.route]
		switch {
		case k.code >= 500:
			v[2] += int64(n)
		case k.code >= 400:
			v[1] += int64(n)
		default:
			v[0] += int64(n)
		}
		byRoute[k.route] = v
	}
	buckets := make([]int64, len(latencyBuckets)+1)
	for _, h := range m.latency {
		var in int64
		for i, n := range h.counts {
			buckets[i] += int64(n)
			in += int64(n)
		}
		buckets[len(latencyBuckets)] += int64(h.n) - in
	}
	records := map[string]uint64{}
	for k, v := range m.records {
		records[k] = v
	}
	bills := m.bills
	m.mu.Unlock()

	routes := slices.Sorted(maps.Keys(byRoute))
	ok, client4, server5 := make([]int64, len(routes)), make([]int64, len(routes)), make([]int64, len(routes))
	for i, rt := range routes {
		ok[i], client4[i], server5[i] = byRoute[rt][0], byRoute[rt][1], byRoute[rt][2]
	}
	var out []overviewChart
	if len(routes) > 0 {
		var rows []hbar
		for i, rt := range routes {
			total := ok[i] + client4[i] + server5[i]
			rows = append(rows, hbar{Label: rt, Value: total, Text: strconv.FormatInt(total, 10) + " (" + strconv.FormatInt(client4[i], 10) + " 4xx, " + strconv.FormatInt(server5[i], 10) + " 5xx)"})
		}
		out = append(out, overviewChart{Heading: "HTTP requests by route (fedmeter_http_requests_total)", Chart: hbars("HTTP requests by route", rows)})
	}
	labels := make([]string, len(buckets))
	for i, b := range latencyBuckets {
		labels[i] = "≤" + (time.Duration(b * float64(time.Second))).String()
	}
	labels[len(latencyBuckets)] = "more"
	out = append(out, overviewChart{Heading: "Request time (fedmeter_http_request_duration_seconds)",
		Chart: stackedBars("Requests by duration bucket", labels, []series{{Name: "requests", Values: buckets}}, count(""))})
	out = append(out, overviewChart{Heading: "Usage records (fedmeter_usage_records_total)", Chart: hbars("Usage records by outcome", []hbar{
		{Label: "accepted", Value: int64(records["accepted"]), Text: strconv.FormatUint(records["accepted"], 10)},
		{Label: "duplicate", Value: int64(records["duplicate"]), Text: strconv.FormatUint(records["duplicate"], 10)},
	})})
	return out, bills, records
}
