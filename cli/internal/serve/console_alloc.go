package serve

import (
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// The console's prepaid allocations, usage corrections and re-rating
// (api_alloc.go's routes as pages and forms): the allocations the
// caller's org granted and holds, per counterparty, with the grant and
// top-up forms for a provider's admins; the corrections on a resource's
// usage page, with the correction form for its provider; the re-rating
// form on a bill's page for its provider's admins. As for the settlement
// forms (console_settle.go), the contract decides, a refusal comes back
// on the page with its code, and every form is same-origin only.

func init() {
	for k, v := range map[string]string{
		"granted":   "Allocation granted.",
		"topped":    "Top-up recorded.",
		"rerated":   "Re-rated: an adjustment bill was issued for the difference.",
		"unchanged": "Re-rated: the amount is unchanged, no adjustment was issued.",
		"corrected": "Correction recorded. If the period was billed already, re-rate its bill to bill the difference.",
		"same":      "The record already counts that quantity: nothing was written.",
	} {
		flashes[k] = v
	}
}

// allocRow is an allocation as the page shows it.
type allocRow struct {
	A model.Allocation
	// Pct is the use in whole percent of the amount, rounded down (past
	// 100 when the balance is negative); PctOK false when the amount is 0.
	Pct     int64
	PctOK   bool
	Reached string // the thresholds the use is at or past: "80%, 100%"
	Stopped bool   // a hard stop that is spent
}

// allocGroup is the allocations of one pair.
type allocGroup struct {
	Counterparty string
	Rows         []allocRow
}

type allocationsData struct {
	Granted, Held []allocGroup // as provider, as consumer
	Consumers     []string     // who the caller's org may grant to
	Admin         bool
	Flash         string
	Form          AllocationGrantBody // the grant form's values
	FormScale     string
	FormHardStop  bool
}

// usedPct is used*100/amount rounded down, exactly (big integers).
func usedPct(used, amount int64) int64 {
	var n big.Int
	n.Mul(big.NewInt(used), big.NewInt(100))
	n.Quo(&n, big.NewInt(amount))
	return n.Int64()
}

func allocRowOf(a model.Allocation) allocRow {
	row := allocRow{A: a, PctOK: a.Amount > 0, Stopped: a.HardStop && a.Used >= a.Amount}
	if row.PctOK {
		row.Pct = usedPct(a.Used, a.Amount)
	}
	var rs []string
	for _, p := range a.Reached {
		rs = append(rs, strconv.FormatInt(p, 10)+"%")
	}
	row.Reached = strings.Join(rs, ", ")
	return row
}

func (s *Server) allocationsPage(r *http.Request, c *client.Client) (string, any, error) {
	ctx := r.Context()
	cons, err := c.Consortium(ctx)
	if err != nil {
		return "", nil, err
	}
	me := c.MSPID()
	t, _, _, _ := s.session(r)
	d := allocationsData{Admin: s.mayBeAdmin(t), Flash: flashOf(r), FormScale: strconv.Itoa(defaultScale)}
	others := slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(cons.Members), func(m string) bool { return m == me })))
	d.Consumers = others
	for _, o := range others {
		for _, side := range []struct {
			provider, consumer string
			into               *[]allocGroup
		}{{me, o, &d.Granted}, {o, me, &d.Held}} {
			al, err := c.Allocations(ctx, side.provider, side.consumer)
			if err != nil {
				return "", nil, err
			}
			if al == nil || len(al.Entries) == 0 {
				continue
			}
			g := allocGroup{Counterparty: o}
			for _, a := range al.Entries {
				g.Rows = append(g.Rows, allocRowOf(a))
			}
			*side.into = append(*side.into, g)
		}
	}
	if r.Method == http.MethodPost && r.URL.Path == "/allocations" { // a refused grant: the form as sent
		d.Form = AllocationGrantBody{Consumer: r.PostFormValue("consumer"), ID: r.PostFormValue("id"), AmountDecimal: r.PostFormValue("amount"),
			Currency: r.PostFormValue("currency"), From: r.PostFormValue("from"), To: r.PostFormValue("to")}
		d.FormScale = r.PostFormValue("scale")
		d.FormHardStop = r.PostFormValue("hard_stop") != ""
	}
	return "allocations", d, nil
}

// grantForm grants an allocation; its amount is typed in the currency's
// units at the scale the form names (statementdoc.ParseAmount: exact).
func (s *Server) grantForm(r *http.Request, c *client.Client) (string, error) {
	b := AllocationGrantBody{Consumer: r.PostFormValue("consumer"), ID: r.PostFormValue("id"), AmountDecimal: r.PostFormValue("amount"),
		Currency: r.PostFormValue("currency"), From: r.PostFormValue("from"), To: r.PostFormValue("to"), HardStop: r.PostFormValue("hard_stop") != ""}
	if v := strings.TrimSpace(r.PostFormValue("scale")); v != "" {
		sc, err := strconv.Atoi(v)
		if err != nil {
			return "", badArg("scale %q is not a number of decimal digits (0 to 18)", v)
		}
		b.Scale = &sc
	}
	if strings.TrimSpace(b.AmountDecimal) == "" {
		return "", badArg("the amount is empty: type the prepaid amount, in the currency's units (e.g. 5000.00)")
	}
	if _, err := grantAllocation(r, c, b); err != nil {
		return "", err
	}
	return "/allocations?done=granted", nil
}

// topUpForm adds to an allocation the caller's org granted; the amount is
// in the allocation's currency units.
func (s *Server) topUpForm(r *http.Request, c *client.Client) (string, error) {
	amount := r.PostFormValue("amount")
	if strings.TrimSpace(amount) == "" {
		return "", badArg("the amount is empty: type the top-up, in the currency's units (e.g. 500.00)")
	}
	if _, err := topUpAllocation(r, c, r.PathValue("consumer"), r.PathValue("id"), AmountBody{AmountDecimal: amount}); err != nil {
		return "", err
	}
	return "/allocations?done=topped", nil
}

// ---- re-rating a bill ----

// billRerate fills the bill page's re-rating part: whether the form is
// shown (the bill's provider's admins, a bill a rule issued) and, after a
// re-rating, the adjustment it issued (only one of the bill's own).
func (s *Server) billRerate(r *http.Request, c *client.Client, d *billData) {
	t, _, _, _ := s.session(r)
	k := d.Bill.Kind
	d.CanRerate = d.Bill.Provider == c.MSPID() && (k == model.BillKindRelease || k == model.BillKindPeriod) && s.mayBeAdmin(t)
	if id := r.URL.Query().Get("adjustment"); id != "" {
		for i := range d.Credits {
			if d.Credits[i].ID == id {
				d.Adjustment = &d.Credits[i]
			}
		}
	}
}

// rerateForm re-rates the bill: BillRerate of its resource over the
// bills whose period ends at this bill's end ([end, end+1s)), which is
// this bill alone among the resource's rule-issued bills.
func (s *Server) rerateForm(r *http.Request, c *client.Client) (string, error) {
	id := r.PathValue("id")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		return "", badArg("the reason is empty: say why the bill is re-rated (it is on the adjustment)")
	}
	b, err := c.Bill(r.Context(), id)
	if err != nil {
		return "", err
	}
	end := strconv.FormatInt(b.Period.End, 10)
	res, err := rerateBills(r, c, RerateBody{Resource: b.Resource, From: end, To: strconv.FormatInt(b.Period.End+1, 10), Reason: reason})
	if err != nil {
		return "", err
	}
	to := "/bills/" + url.PathEscape(id) + "?done="
	for _, a := range res.Adjustments {
		if a.Adjusts == id {
			return to + "rerated&adjustment=" + url.QueryEscape(a.ID), nil
		}
	}
	return to + "unchanged", nil
}

// ---- usage corrections ----

// correctForm corrects a usage record of the resource (its provider's
// identities); the page shows the correction with the record.
func (s *Server) correctForm(r *http.Request, c *client.Client) (string, error) {
	id := r.PathValue("id")
	q := strings.TrimSpace(r.PostFormValue("quantity"))
	n, err := strconv.ParseInt(q, 10, 64)
	if err != nil || n < 0 {
		return "", badArg("quantity %q is not a whole number of the metric's units, 0 or more (0 voids the record)", q)
	}
	adj, err := correctUsage(r, c, id, UsageCorrectionBody{Metric: r.PostFormValue("metric"), Start: r.PostFormValue("start"), End: r.PostFormValue("end"),
		ID: r.PostFormValue("id"), Quantity: &n, Reason: r.PostFormValue("reason")})
	if err != nil {
		return "", err
	}
	done := "corrected"
	if adj.Correction == nil {
		done = "same"
	}
	return "/usage?resource=" + url.QueryEscape(id) + "&done=" + done, nil
}
