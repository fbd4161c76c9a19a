// Package statementdoc renders a settlement statement for people and
// accounting systems: CSV for accounting systems and an HTML page to
// print, and reads the amounts people type (payments, credit notes,
// allocations) exactly. The fedmeter command (statement export) and
// fedmeter serve (the statement routes and console pages) both use it, so
// a statement downloaded from the console is byte for byte the one the
// command writes; it lives apart from both because the command's package
// imports the server's.
package statementdoc

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
)

// The CSV and the HTML page have one line per bill, named by its ID on the
// ledger (fedmeter bill show ID reads it), so every line traces to a bill
// either org can verify. No PDF: the usual pure-Go PDF writer, jung-kurt/gofpdf, was archived in
// 2021, and a dependency on one of its forks is not worth what a browser's
// "print to PDF" of the HTML page already gives.

// CSVHeader is the CSV export's header row.
var CSVHeader = []string{"statement_id", "provider", "consumer", "bill_id", "kind", "adjusts", "resource", "resource_type",
	"period_start", "period_end", "late", "currency", "scale", "amount_minor", "amount", "reason"}

// WriteCSV writes one row per bill, in statement order.
func WriteCSV(w io.Writer, s *client.Statement, bills []client.Bill) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, b := range bills {
		late := "no"
		if b.Period.End < s.Period.Start {
			late = "yes"
		}
		row := []string{s.ID, s.Provider, s.Consumer, b.ID, b.Kind, b.Adjusts, b.Resource, b.ResourceType,
			RFC3339(b.Period.Start), RFC3339(b.Period.End), late, b.Currency, strconv.Itoa(b.Scale),
			strconv.FormatInt(b.Amount, 10), client.FormatMoney(b.Amount, b.Scale), SpreadsheetSafe(b.Reason)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// RFC3339 is a Unix time in UTC, RFC 3339.
func RFC3339(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }

// SpreadsheetSafe keeps a free-text field (a credit's reason, written by
// the other org) from being read as a formula by a spreadsheet that opens
// the CSV: a leading =, +, -, @, tab or carriage return gets a quote
// before it.
func SpreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// statementPage is the HTML template's data.
type statementPage struct {
	S     *client.Statement
	Lines []statementLine
	Money func(int64) string
	Time  func(int64) string
	Day   func(int64) string
}

type statementLine struct {
	N    int
	Bill client.Bill
	Late bool
}

var statementHTML = template.Must(template.New("statement").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Statement {{.S.ID}}</title>
<style>
body { font-family: sans-serif; font-size: 10pt; margin: 2em; color: #000; }
h1 { font-size: 16pt; margin-bottom: 0.2em; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border-bottom: 1px solid #999; padding: 3px 6px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.meta td { border: none; padding: 1px 12px 1px 0; }
.mono { font-family: monospace; font-size: 9pt; word-break: break-all; }
tfoot td { font-weight: bold; border-bottom: none; }
@media print { body { margin: 0; } a { color: #000; text-decoration: none; } }
</style>
</head>
<body>
<h1>Statement {{.S.ID}}</h1>
<table class="meta">
<tr><td>From (provider)</td><td>{{.S.Provider}}</td></tr>
<tr><td>To (consumer)</td><td>{{.S.Consumer}}</td></tr>
<tr><td>Period</td><td>{{call .Day .S.Period.Start}} to {{call .Day .S.Period.End}} (bills by period end; the end excluded)</td></tr>
<tr><td>Currency</td><td>{{.S.Currency}}</td></tr>
<tr><td>Status</td><td>{{.S.Status}}</td></tr>
<tr><td>Issued</td><td>{{call .Time .S.Issued.Time}} by {{.S.IssuedBy.MSP}}, transaction <span class="mono">{{.S.Issued.Tx}}</span></td></tr>
{{with .S.Acknowledged}}<tr><td>Acknowledged</td><td>{{call $.Time .Time}} by {{.By.MSP}}</td></tr>{{end}}
{{with .S.Dispute}}<tr><td>Disputed</td><td>{{call $.Time .Time}} by {{.By.MSP}}: {{.Reason}}</td></tr>{{end}}
{{with .S.Paid}}<tr><td>Paid</td><td>{{call $.Time .Time}}</td></tr>{{end}}
{{with .S.Voided}}<tr><td>Voided</td><td>{{call $.Time .Time}} by {{.By.MSP}}: {{.Reason}}</td></tr>{{end}}
<tr><td>Bills hash</td><td class="mono">{{.S.BillsHash}} (SHA-256 of the bill IDs below, each followed by a newline, in this order)</td></tr>
</table>
<table>
<thead><tr><th class="n">#</th><th>Bill (ledger ID)</th><th>Kind</th><th>Resource</th><th>Type</th><th>Period</th><th>Note</th><th class="n">Amount</th></tr></thead>
<tbody>
{{range .Lines}}<tr><td class="n">{{.N}}</td><td class="mono">{{.Bill.ID}}</td><td>{{.Bill.Kind}}</td><td>{{.Bill.Resource}}</td><td>{{.Bill.ResourceType}}</td><td>{{call $.Time .Bill.Period.Start}} to {{call $.Time .Bill.Period.End}}</td><td>{{if .Late}}late bill of an earlier period. {{end}}{{with .Bill.Adjusts}}corrects {{.}}. {{end}}{{.Bill.Reason}}</td><td class="n">{{call $.Money .Bill.Amount}}</td></tr>
{{end}}</tbody>
<tfoot>
<tr><td colspan="7">Charges</td><td class="n">{{call .Money .S.Charges}}</td></tr>
<tr><td colspan="7">Credits</td><td class="n">{{call .Money .S.Credits}}</td></tr>
<tr><td colspan="7">Total ({{.S.Bills}} bills)</td><td class="n">{{call .Money .S.Total}} {{.S.Currency}}</td></tr>
<tr><td colspan="7">Confirmed payments</td><td class="n">{{call .Money .S.Confirmed}}</td></tr>
<tr><td colspan="7">Outstanding</td><td class="n">{{call .Money .S.Outstanding}}</td></tr>
</tfoot>
</table>
{{if .S.Payments}}<h2>Payments</h2>
<table>
<thead><tr><th>Reference</th><th>Date</th><th>Recorded by</th><th>Confirmed</th><th class="n">Amount</th></tr></thead>
<tbody>
{{range .S.Payments}}<tr><td>{{.Reference}}</td><td>{{call $.Day .Date}}</td><td>{{.RecordedBy.MSP}}</td><td>{{with .Confirmed}}{{call $.Time .Time}}{{else}}not yet{{end}}</td><td class="n">{{call $.Money .Amount}}</td></tr>
{{end}}</tbody>
</table>{{end}}
<p>Every line is a bill on the ledger: <code>fedmeter bill show ID</code> reads it and <code>fedmeter bill verify ID</code> recomputes it.</p>
</body>
</html>
`))

// WriteHTML writes the statement as a page to print.
func WriteHTML(w io.Writer, s *client.Statement, bills []client.Bill) error {
	page := statementPage{S: s, Lines: make([]statementLine, len(bills)),
		Money: func(v int64) string { return client.FormatMoney(v, s.Scale) },
		Time:  RFC3339, Day: Day}
	for i, b := range bills {
		page.Lines[i] = statementLine{N: i + 1, Bill: b, Late: b.Period.End < s.Period.Start}
	}
	return statementHTML.Execute(w, page)
}

// Day is a Unix time as a UTC date and, unless midnight, time.
func Day(unix int64) string {
	t := time.Unix(unix, 0).UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format(time.RFC3339)
}

// ParseAmount reads an amount a user typed in currency units ("5000",
// "12.5", "0.05") as minor units at scale (12.5 at scale 2 is 1250),
// exactly: no floating point, and more decimals than the scale are refused,
// never rounded. Every amount a user types (an allocation, a top-up, a
// payment, a credit note) is positive, so a sign is refused too, as is an
// amount past int64. field names the argument or flag in the error.
func ParseAmount(field, s string, scale int) (int64, error) {
	bad := func(why string) error {
		return client.Errorf(client.KindInvalid, "%s %q is not an amount: %s", field, s, why).
			WithHint("write it in the currency's units, e.g. 5000 or 12.50")
	}
	if scale < 0 || scale > 18 {
		return 0, client.Errorf(client.KindInvalid, "%s %q: scale %d is not between 0 and 18", field, s, scale)
	}
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || (dot && frac == "") {
		return 0, bad("it must be digits with an optional decimal point")
	}
	if len(frac) > scale {
		return 0, bad(fmt.Sprintf("it has %d decimals; the currency's scale allows %d", len(frac), scale))
	}
	digits := whole + frac + strings.Repeat("0", scale-len(frac))
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, bad("it must be digits with an optional decimal point")
		}
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, bad("it is too large for a 64-bit integer of minor units")
	}
	return v, nil
}
