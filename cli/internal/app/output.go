package app

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
)

// printer writes a command's result: JSON (one document) or text for people.
type printer struct {
	w    io.Writer
	json bool
}

// JSON writes v as indented JSON (in json mode only).
func (p *printer) JSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.w, "%s\n", b)
	return err
}

// Printf writes text (in table mode only).
func (p *printer) Printf(format string, args ...any) {
	if !p.json {
		fmt.Fprintf(p.w, format, args...)
	}
}

// KV writes aligned "key  value" lines, indented.
func (p *printer) KV(pairs ...string) {
	if p.json {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\n", pairs[i], pairs[i+1])
	}
	tw.Flush()
}

// Table writes a table with a header row; empty prints "(none)".
func (p *printer) Table(empty string, head []string, rows [][]string) {
	if p.json {
		return
	}
	if len(rows) == 0 {
		fmt.Fprintf(p.w, "%s\n", empty)
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n", strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\n", strings.Join(r, "\t"))
	}
	tw.Flush()
}

// ---- formatting ----

func money(amount int64, scale int, currency string) string {
	return client.FormatMoney(amount, scale) + " " + currency
}

func ts(unix int64) string {
	if unix == 0 {
		return "-"
	}
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12] + "…"
	}
	return hash
}

func ints(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func strs(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

func period(p chaincode.Period) string {
	d := time.Duration(p.End-p.Start) * time.Second
	return fmt.Sprintf("%s to %s (%s)", ts(p.Start), ts(p.End), d)
}

func num(v int64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(v)
}

// printBill writes a bill: its record and its lines.
func printBill(p *printer, b *chaincode.Bill) {
	p.Printf("Bill %s (%s): %s\n", b.ID, b.Kind, money(b.Amount, b.Scale, b.Currency))
	rule, gas := "", ""
	if b.Rule.Hash != "" { // a correction (a credit note) ran no rule
		rule, gas = fmt.Sprintf("%s %s (%s)", b.Rule.Name, b.Rule.Version, short(b.Rule.Hash)), fmt.Sprint(b.GasUsed)
	}
	p.KV(
		"provider", b.Provider,
		"consumer", b.Consumer,
		"resource", b.Resource+" ("+b.ResourceType+")",
		"period", period(b.Period),
		"adjusts", b.Adjusts,
		"reason", b.Reason,
		"rule", rule,
		"gas used", gas,
		"input hash", short(b.InputHash),
		"issued", ts(b.IssuedAt)+" by "+b.IssuedBy.MSP,
		"tx", b.Tx,
		"adjusts", b.Adjusts,
		"reason", b.Reason,
	)
	if b.Overrun > 0 {
		p.Printf("  held %s after its allocation expired: not billed (billing stops at the expiry, as usage does)\n", overrun(b.Overrun))
	}
	printLines(p, b.Lines, b.Amount, b.Scale, b.Currency)
}

// overrun says how long a resource was held past its allocation.
func overrun(seconds int64) string {
	return (time.Duration(seconds) * time.Second).String()
}

// printLines writes a bill's lines as the rule gave them, for people: a
// quantity in seconds (a unit NAME_second, as holding lines are) is shown in
// hours with the seconds beside it, a line without a unit price shows the
// price per unit it works out at when that is exact (marked "="), and the
// amounts' currency heads their column.
func printLines(p *printer, lines []chaincode.BillLine, total int64, scale int, currency string) {
	rows := make([][]string, 0, len(lines)+1)
	for _, l := range lines {
		qty, up := lineQuantity(l), ""
		if l.UnitPrice != 0 {
			up = client.FormatMoney(l.UnitPrice, scale) + " per " + l.Unit
		} else if unit, per, ok := derivedUnitPrice(l); ok {
			up = "= " + client.FormatMoney(per, scale) + " per " + unit
		}
		rows = append(rows, []string{"  " + l.Item, qty, up, client.FormatMoney(l.Amount, scale)})
	}
	rows = append(rows, []string{"  total", "", "", money(total, scale, currency)})
	p.Printf("\n")
	p.Table("", []string{"  ITEM", "QUANTITY", "UNIT PRICE", "AMOUNT (" + currency + ")"}, rows)
}

// lineQuantity is a line's quantity with its unit: "7 gib", or, for a unit
// in seconds, "48 vcpu_hour (172800 vcpu_second)".
func lineQuantity(l chaincode.BillLine) string {
	if l.Quantity == 0 && l.Unit == "" {
		return ""
	}
	q := strings.TrimSpace(fmt.Sprint(l.Quantity) + " " + l.Unit)
	if base, ok := strings.CutSuffix(l.Unit, "_second"); ok && l.Quantity != 0 {
		h := float64(l.Quantity) / 3600
		hs := strconv.FormatFloat(h, 'f', -1, 64)
		if _, frac, _ := strings.Cut(hs, "."); len(frac) > 4 {
			hs = "≈" + strconv.FormatFloat(h, 'f', 2, 64)
		}
		return fmt.Sprintf("%s %s_hour (%s)", hs, base, q)
	}
	return q
}

// derivedUnitPrice is the price per hour a line in seconds works out at,
// when it is a whole number of minor units (amount / hours, exactly).
func derivedUnitPrice(l chaincode.BillLine) (unit string, per int64, ok bool) {
	base, isSec := strings.CutSuffix(l.Unit, "_second")
	if !isSec || l.Quantity <= 0 || l.Amount < 0 || l.Amount > math.MaxInt64/3600 {
		return "", 0, false
	}
	if a := l.Amount * 3600; a%l.Quantity == 0 {
		return base + "_hour", a / l.Quantity, true
	}
	return "", 0, false
}

func printTotals(p *printer, t *chaincode.Totals, receivable, payable bool) {
	side := func(name string, list []chaincode.Total, cp string) {
		rows := make([][]string, 0, len(list))
		for _, x := range list {
			rows = append(rows, []string{"  " + x.Counterparty, fmt.Sprint(x.Bills), money(x.Amount, x.Scale, x.Currency)})
		}
		p.Printf("%s of %s:\n", name, t.Org)
		p.Table("  (none)", []string{"  " + cp, "BILLS", "TOTAL"}, rows)
	}
	if receivable {
		side("Receivable (as provider)", t.Receivable, "CONSUMER")
	}
	if payable {
		side("Payable (as consumer)", t.Payable, "PROVIDER")
	}
}

func votes(p *chaincode.Proposal) string {
	if p == nil {
		return ""
	}
	a, r := 0, 0
	for _, v := range p.Votes {
		if v.Decision == chaincode.VoteApprove {
			a++
		} else {
			r++
		}
	}
	return fmt.Sprintf("%s: %d of %d approvals needed from %s; %d approve, %d reject",
		p.Status, p.Required, len(p.Electorate), strings.Join(p.Electorate, ", "), a, r)
}

func printVotes(p *printer, prop *chaincode.Proposal) {
	if prop == nil || len(prop.Votes) == 0 {
		return
	}
	rows := make([][]string, len(prop.Votes))
	for i, v := range prop.Votes {
		rows[i] = []string{"  " + v.Org, v.Decision, ts(v.Time)}
	}
	p.Table("", []string{"  ORG", "VOTE", "AT"}, rows)
}
