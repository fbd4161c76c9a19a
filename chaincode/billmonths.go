package chaincode

import (
	"sort"
	"strconv"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// maxTotalMonths is the most months BillTotalsMonthly sums at once (ten
// years): its answer grows with the months.
const maxTotalMonths = 120

// BillTotalsMonthly sums the calling org's bills by calendar month (UTC)
// of their period end: months consecutive months from the month that
// starts at from (Unix seconds or RFC 3339; the first instant of a month
// in UTC), receivable and payable per counterparty and currency in each,
// overflow-checked. It is BillTotals of each month in one read of the bill
// index over the span. With allTime "true" it reads the whole index once
// and also returns BillTotals over all time (AllTime), so that a console's
// overview (a year's chart and the all-time sums) is one pass over the
// org's bills instead of thirteen queries. Own org only, as BillTotals.
func (c *Contract) BillTotalsMonthly(ctx contractapi.TransactionContextInterface, from, months, allTime string) (string, error) {
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
	whole := false
	switch allTime {
	case "", "false":
	case "true":
		whole = true
	default:
		return "", errf(`all_time must be "true", "false" or empty, got %q`, allTime)
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
	if whole {
		res.AllTime = &MonthTotal{Receivable: []Total{}, Payable: []Total{}}
	}
	from, to := strconv.FormatInt(bounds[0], 10), strconv.FormatInt(bounds[n], 10)
	if whole {
		from, to = "", ""
	}
	for _, side := range []struct {
		role, name string
		dst        func(*MonthTotal) *[]Total
	}{
		{"provider", "receivable", func(m *MonthTotal) *[]Total { return &m.Receivable }},
		{"consumer", "payable", func(m *MonthTotal) *[]Total { return &m.Payable }},
	} {
		streams, _, _, err := t.billStreams(cons, side.role, t.msp, from, to)
		if err != nil {
			return "", err
		}
		for _, s := range streams {
			per, all, err := monthSums(t, s, side.name, bounds)
			if err != nil {
				return "", err
			}
			for i := range res.Months {
				d := side.dst(&res.Months[i])
				*d = append(*d, per[i]...)
			}
			if whole {
				d := side.dst(res.AllTime)
				*d = append(*d, all...)
			}
		}
	}
	return out(res)
}

// monthSums sums stream s's index entries into the months of bounds (an
// entry outside them in none), and all of them: each month's totals and
// the sum of all in currency and scale order.
func monthSums(t *txn, s billStream, side string, bounds []int64) ([][]Total, []Total, error) {
	type sumKey struct {
		month    int // -1: all the stream's entries
		currency string
		scale    int
	}
	type sum struct {
		Total
		field string // names the sum in an overflow error
	}
	sums := map[sumKey]*sum{}
	// Consecutive entries are mostly of one currency and month: the last
	// sum found serves the next entry without a map lookup.
	var lastAll, lastMonth *sum
	var lastAllKey, lastMonthKey sumKey
	add := func(id sumKey, ix billIndex, last **sum, lastKey *sumKey) error {
		sm := *last
		if sm == nil || *lastKey != id {
			if sm = sums[id]; sm == nil {
				sm = &sum{Total: Total{Counterparty: s.counterparty, Currency: ix.Currency, Scale: ix.Scale},
					field: side + " total with " + s.counterparty + " in " + ix.Currency}
				sums[id] = sm
			}
			*last, *lastKey = sm, id
		}
		amt, err := addChecked(sm.field, sm.Amount, ix.Amount)
		if err != nil {
			return err
		}
		sm.Amount = amt
		sm.Bills++
		return nil
	}
	last := len(bounds) - 1
	// The bounds as index positions: a key's period end is compared as
	// its 20 digits, without parsing them.
	edges := make([]string, len(bounds))
	for i, b := range bounds {
		edges[i] = pad(b)
	}
	month := 0
	err := scanAll(t, s.start, s.end, func(k string, v []byte) error {
		pos := k[len(s.pfx):]
		if len(pos) < 21 || pos[20] != '/' {
			return corrupt(k, errf("not a bill index key"))
		}
		end := pos[:20]
		ix, err := decodeBillIndex(v)
		if err != nil {
			return corrupt(k, err)
		}
		if err := add(sumKey{-1, ix.Currency, ix.Scale}, ix, &lastAll, &lastAllKey); err != nil {
			return err
		}
		// Keys come in period-end order: the month only moves forward.
		for month < last && end >= edges[month+1] {
			month++
		}
		if end < edges[0] || month == last {
			return nil
		}
		return add(sumKey{month, ix.Currency, ix.Scale}, ix, &lastMonth, &lastMonthKey)
	})
	if err != nil {
		return nil, nil, err
	}
	per := make([][]Total, last+1) // per[last]: all
	for id, sm := range sums {
		i := id.month
		if i < 0 {
			i = last
		}
		per[i] = append(per[i], sm.Total)
	}
	for _, part := range per {
		sort.Slice(part, func(i, j int) bool {
			if part[i].Currency != part[j].Currency {
				return part[i].Currency < part[j].Currency
			}
			return part[i].Scale < part[j].Scale
		})
	}
	return per[:last], per[last], nil
}
