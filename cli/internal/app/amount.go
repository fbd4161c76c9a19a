package app

import "github.com/fedmeter/fedmeter/cli/internal/statementdoc"

// parseAmount reads an amount a user typed in currency units ("5000",
// "12.5", "0.05") as minor units at scale, exactly: statementdoc.ParseAmount.
// field names the argument or flag in the error.
func parseAmount(field, s string, scale int) (int64, error) {
	return statementdoc.ParseAmount(field, s, scale)
}
