package app

import (
	"io"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/statementdoc"
)

// Statement exports: CSV for accounting systems and an HTML page to print,
// written by cli/internal/statementdoc, which fedmeter serve shares.

// statementCSVHeader is the CSV export's header row.
var statementCSVHeader = statementdoc.CSVHeader

// writeStatementCSV writes one row per bill, in statement order.
func writeStatementCSV(w io.Writer, s *client.Statement, bills []client.Bill) error {
	return statementdoc.WriteCSV(w, s, bills)
}

// writeStatementHTML writes the statement as a page to print.
func writeStatementHTML(w io.Writer, s *client.Statement, bills []client.Bill) error {
	return statementdoc.WriteHTML(w, s, bills)
}

func rfc3339(unix int64) string { return statementdoc.RFC3339(unix) }

// spreadsheetSafe: statementdoc.SpreadsheetSafe.
func spreadsheetSafe(s string) string { return statementdoc.SpreadsheetSafe(s) }
