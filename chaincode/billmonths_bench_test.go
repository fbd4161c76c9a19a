package chaincode

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkOverviewTotals is what a console's overview asks the contract
// for on the embedded ledger, at 100,000 bills of Org1 to Org2 spread over
// a year (seeded directly, as BenchmarkStatementIssue seeds them): the
// twelve months and all time, as one BillTotalsMonthly ("monthly") and as
// the thirteen BillTotals it replaces ("thirteen").
//
//	go test -run '^$' -bench OverviewTotals -benchtime 10x ./chaincode/
func BenchmarkOverviewTotals(b *testing.B) {
	cc, err := NewChaincode()
	if err != nil {
		b.Fatal(err)
	}
	e := newEmbeddedEnvCC(b, false, seedCC{cc})
	e.initConsortium()
	end := jan.AddDate(1, 0, 0)
	e.setTime(end)
	const n, chunk = 100_000, 5000
	for i := 0; i < n; i += chunk {
		from := jan.Add(time.Duration(i) * end.Sub(jan) / n)
		to := jan.Add(time.Duration(i+chunk) * end.Sub(jan) / n)
		e.ok("org1.admin", "benchSeedBills", org1, org2, strconv.Itoa(i), strconv.Itoa(chunk), unix(from), unix(to))
	}
	b.Run("monthly", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m := decode[MonthlyTotals](b, e.eval("org1.user", "BillTotalsMonthly", unix(jan), "12", "true"))
			if m.AllTime.Receivable[0].Bills != n {
				b.Fatalf("%d bills", m.AllTime.Receivable[0].Bills)
			}
		}
	})
	b.Run("thirteen", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if t := decode[Totals](b, e.eval("org1.user", "BillTotals", "", "")); t.Receivable[0].Bills != n {
				b.Fatalf("%d bills", t.Receivable[0].Bills)
			}
			for m := 0; m < 12; m++ {
				e.eval("org1.user", "BillTotals", unix(jan.AddDate(0, m, 0)), unix(jan.AddDate(0, m+1, 0)))
			}
		}
	})
}
