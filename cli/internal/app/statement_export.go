package app

import (
	"encoding/csv"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
)

// Statement exports: CSV for accounting systems and an HTML page to print.
// Both have one line per bill, named by its ID on the ledger (fedmeter bill
// show ID reads it), so every line traces to a bill either org can verify.
// No PDF: the usual pure-Go PDF writer, jung-kurt/gofpdf, was archived in
// 2021, and a dependency on one of its forks is not worth what a browser's
// "print to PDF" of the HTML page already gives.

// statementCSVHeader is the CSV export's header row.
var statementCSVHeader = []string{"statement_id", "provider", "consumer", "bill_id", "kind", "adjusts", "resource", "resource_type",
	"period_start", "period_end", "late", "currency", "scale", "amount_minor", "amount", "reason"}

// writeStatementCSV writes one row per bill, in statement order.
func writeStatementCSV(w io.Writer, s *client.Statement, bills []client.Bill) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(statementCSVHeader); err != nil {
		return err
	}
	for _, b := range bills {
		late := "no"
		if b.Period.End < s.Period.Start {
			late = "yes"
		}
		row := []string{s.ID, s.Provider, s.Consumer, b.ID, b.Kind, b.Adjusts, b.Resource, b.ResourceType,
			rfc3339(b.Period.Start), rfc3339(b.Period.End), late, b.Currency, strconv.Itoa(b.Scale),
			strconv.FormatInt(b.Amount, 10), client.FormatMoney(b.Amount, b.Scale), spreadsheetSafe(b.Reason)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func rfc3339(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }

// spreadsheetSafe keeps a free-text field (a credit's reason, written by
// the other org) from being read as a formula by a spreadsheet that opens
// the CSV: a leading =, +, -, @, tab or carriage return gets a quote
// before it.
func spreadsheetSafe(s string) string {
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

// writeStatementHTML writes the statement as a page to print.
func writeStatementHTML(w io.Writer, s *client.Statement, bills []client.Bill) error {
	page := statementPage{S: s, Lines: make([]statementLine, len(bills)),
		Money: func(v int64) string { return client.FormatMoney(v, s.Scale) },
		Time:  rfc3339, Day: day}
	for i, b := range bills {
		page.Lines[i] = statementLine{N: i + 1, Bill: b, Late: b.Period.End < s.Period.Start}
	}
	return statementHTML.Execute(w, page)
}
