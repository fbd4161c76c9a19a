package chaincode

import (
	"strconv"
	"testing"
	"time"
)

// BillTotalsMonthly is BillTotals of each month, for both sides, with
// bills before and after the span left out.
func TestBillTotalsMonthly(t *testing.T) {
	cc, err := NewChaincode()
	if err != nil {
		t.Fatal(err)
	}
	e := newEmbeddedEnvCC(t, false, seedCC{cc})
	e.initConsortium()
	e.setTime(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	dec := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	apr := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	may := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	seed := func(provider, consumer string, first, n int, from, to time.Time) {
		e.ok("org1.admin", "benchSeedBills", provider, consumer, strconv.Itoa(first), strconv.Itoa(n), unix(from), unix(to))
	}
	seed(org1, org2, 0, 300, jan, apr)   // January to March
	seed(org2, org1, 1000, 40, feb, mar) // February, payable
	seed(org1, org3, 2000, 10, dec, jan) // before the span
	seed(org1, org2, 3000, 7, apr, may)  // after it
	m := decode[MonthlyTotals](t, e.eval("org1.user", "BillTotalsMonthly", unix(jan), "3", ""))
	if m.Org != org1 || len(m.Months) != 3 || m.AllTime != nil {
		t.Fatalf("monthly totals %s", js(m))
	}
	var bills int
	for i, mt := range m.Months {
		from, to := jan.AddDate(0, i, 0), jan.AddDate(0, i+1, 0)
		if mt.From != from.Unix() || mt.To != to.Unix() {
			t.Fatalf("month %d is [%d, %d), want [%d, %d)", i, mt.From, mt.To, from.Unix(), to.Unix())
		}
		want := decode[Totals](t, e.eval("org1.user", "BillTotals", unix(from), unix(to)))
		if js(mt.Receivable) != js(want.Receivable) || js(mt.Payable) != js(want.Payable) {
			t.Fatalf("month %s:\n got %s %s\nwant %s %s", from.Format("2006-01"), js(mt.Receivable), js(mt.Payable), js(want.Receivable), js(want.Payable))
		}
		for _, tot := range append(mt.Receivable, mt.Payable...) {
			bills += tot.Bills
		}
	}
	if bills != 340 || len(m.Months[1].Payable) != 1 || m.Months[1].Payable[0].Bills != 40 {
		t.Fatalf("%d bills in the span, want 340 (40 payable in February): %s", bills, js(m))
	}
	// With all time: the same months, and BillTotals of all time.
	ma := decode[MonthlyTotals](t, e.eval("org1.user", "BillTotalsMonthly", unix(jan), "3", "true"))
	all := decode[Totals](t, e.eval("org1.user", "BillTotals", "", ""))
	if js(ma.Months) != js(m.Months) || ma.AllTime == nil || js(ma.AllTime.Receivable) != js(all.Receivable) || js(ma.AllTime.Payable) != js(all.Payable) ||
		len(all.Receivable) != 2 || all.Receivable[0].Bills != 307 {
		t.Fatalf("with all time %s\nall-time totals %s", js(ma), js(all))
	}
	// The consumer's side: Org2's payable are Org1's receivable.
	m2 := decode[MonthlyTotals](t, e.eval("org2.user", "BillTotalsMonthly", unix(dec), "5", "false"))
	if len(m2.Months) != 5 || len(m2.Months[0].Payable) != 0 || len(m2.Months[4].Payable) != 1 || m2.Months[4].Payable[0].Bills != 7 ||
		js(m2.Months[1].Payable[0].Amount) != js(m.Months[0].Receivable[0].Amount) {
		t.Fatalf("Org2's monthly totals %s", js(m2))
	}
	e.fail("is not the start of a month", "org1.user", "BillTotalsMonthly", js(jan.Unix()+1), "3", "")
	e.fail("months must be between 1 and 120", "org1.user", "BillTotalsMonthly", unix(jan), "0", "")
	e.fail("from is required", "org1.user", "BillTotalsMonthly", "", "3", "")
	e.fail(`all_time must be "true", "false" or empty`, "org1.user", "BillTotalsMonthly", unix(jan), "3", "1")
}
