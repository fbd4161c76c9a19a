package chaincode

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// maxTotalMonths is the most months BillTotalsMonthly sums at once (ten
// years): its answer grows with the months, its reads do not.
const maxTotalMonths = 120

// BillTotalsMonthly sums the calling org's bills by calendar month (UTC)
// of their period end: months consecutive months from the month that
// starts at from (Unix seconds or RFC 3339; the first instant of a month
// in UTC), receivable and payable per counterparty and currency in each,
// overflow-checked. It is BillTotals of each month in one read of the bill
// index over the whole span (what a console's chart of a year needs: one
// pass instead of twelve). Own org only, as BillTotals.
func (c *Contract) BillTotalsMonthly(ctx contractapi.TransactionContextInterface, from, months string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read bill totals")
	if err != nil {
		return "", err
	}
	if from == "" {
		return "", errf("from is required: the first instant of a month (UTC)")
	}
	f, err := parseTime("from", from, 0)
	if err != nil {
		return "", err
	}
	start := time.Unix(f, 0).UTC()
	if start.Day() != 1 || start.Hour() != 0 || start.Minute() != 0 || start.Second() != 0 {
		return "", errf("from %s is not the start of a month in UTC", start.Format(time.RFC3339))
	}
	n, err := parseInt("months", months, 1, maxTotalMonths)
	if err != nil {
		return "", err
	}
	// bounds[i] is month i's first second; bounds[n] the end of the span.
	bounds := make([]int64, n+1)
	for i := range bounds {
		bounds[i] = start.AddDate(0, i, 0).Unix()
	}
	res := &MonthlyTotals{Org: t.msp, Months: make([]MonthTotal, n)}
	for i := range res.Months {
		res.Months[i] = MonthTotal{From: bounds[i], To: bounds[i+1], Receivable: []Total{}, Payable: []Total{}}
	}
	for _, side := range []struct {
		role, name string
		dst        func(*MonthTotal) *[]Total
	}{
		{"provider", "receivable", func(m *MonthTotal) *[]Total { return &m.Receivable }},
		{"consumer", "payable", func(m *MonthTotal) *[]Total { return &m.Payable }},
	} {
		streams, _, _, err := t.billStreams(cons, side.role, t.msp, strconv.FormatInt(bounds[0], 10), strconv.FormatInt(bounds[n], 10))
		if err != nil {
			return "", err
		}
		for _, s := range streams {
			per, err := monthSums(t, s, side.name, bounds)
			if err != nil {
				return "", err
			}
			for i := range res.Months {
				d := side.dst(&res.Months[i])
				*d = append(*d, per[i]...)
			}
		}
	}
	return out(res)
}

// monthSums sums stream s's index entries into the months of bounds, each
// month's totals in currency and scale order.
func monthSums(t *txn, s billStream, side string, bounds []int64) ([][]Total, error) {
	type sumKey struct {
		month    int
		currency string
		scale    int
	}
	sums := map[sumKey]*Total{}
	month := 0
	err := scanAll(t, s.start, s.end, func(k string, v []byte) error {
		pos := k[len(s.pfx):]
		if len(pos) < 21 || pos[20] != '/' {
			return corrupt(k, errf("not a bill index key"))
		}
		end, err := strconv.ParseInt(pos[:20], 10, 64)
		if err != nil {
			return corrupt(k, err)
		}
		// Keys come in period-end order: the month only moves forward.
		for month < len(bounds)-2 && end >= bounds[month+1] {
			month++
		}
		var ix billIndex
		if err := json.Unmarshal(v, &ix); err != nil {
			return corrupt(k, err)
		}
		id := sumKey{month, ix.Currency, ix.Scale}
		sum := sums[id]
		if sum == nil {
			sum = &Total{Counterparty: s.counterparty, Currency: ix.Currency, Scale: ix.Scale}
			sums[id] = sum
		}
		amt, err := addChecked(side+" total with "+s.counterparty+" in "+ix.Currency, sum.Amount, ix.Amount)
		if err != nil {
			return err
		}
		sum.Amount = amt
		sum.Bills++
		return nil
	})
	if err != nil {
		return nil, err
	}
	per := make([][]Total, len(bounds)-1)
	for id, sum := range sums {
		per[id.month] = append(per[id.month], *sum)
	}
	for _, part := range per {
		sort.Slice(part, func(i, j int) bool {
			if part[i].Currency != part[j].Currency {
				return part[i].Currency < part[j].Currency
			}
			return part[i].Scale < part[j].Scale
		})
	}
	return per, nil
}
