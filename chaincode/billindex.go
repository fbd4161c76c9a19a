package chaincode

import (
	"slices"
	"sort"
)

// The bill index is one key per bill,
//
//	bill-by-pair/<provider>/<consumer>/<end:020>/<bill id> -> {currency, scale, amount}
//
// enough for totals without reading the bill. Layout 2 wrote two keys per
// bill, one under each org (bill-by-provider/, bill-by-consumer/), so that
// an org's bills were one range. Every key a release writes is validated,
// checked for a key-level endorsement policy, stored and indexed in the
// history database by six peers; one key fewer is a fifth of a release's
// writes. The price moves to the reads, which only the asking org's peer
// pays: an org's bills are the streams of its counterparties (as provider
// bill-by-pair/<org>/<c>/, as consumer bill-by-pair/<p>/<org>/), and a list
// reads one range per counterparty and merges them by period end.
//
// An org's counterparties are the consortium's members and former members
// other than itself: both orgs of a resource were members when it was
// requested (a consumer requests from another member), and an org removed
// from the consortium keeps its bills. A consortium has few members (the
// seed has three; at most maxMembers).

// billIndex is the value of a bill index key.
type billIndex struct {
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	Amount   int64  `json:"amount"`
}

// billIndexKey is the index key of bill b, whose period ends at end.
func billIndexKey(b *Bill) string {
	return key(pfxBillPair, b.Provider, b.Consumer, pad(b.Period.End), b.ID)
}

// billStream is the part of the bill index that holds one pair's bills
// with period end in a time range: keys [start, end), each pfx followed by
// the bill's position "<end:020>/<bill id>".
type billStream struct {
	counterparty    string
	pfx, start, end string
}

// billStreams returns the streams of org's bills as role ("provider" or
// "consumer") with period end in [from, to) (each Unix seconds or RFC 3339,
// empty for unbounded), one per counterparty in name order, with the parsed
// bounds.
func (t *txn) billStreams(cons *Consortium, role, org, from, to string) ([]billStream, int64, int64, error) {
	_, _, f, tt, err := timeRange(pfxBillPair, from, to)
	if err != nil {
		return nil, 0, 0, err
	}
	var streams []billStream
	for _, cp := range counterparties(cons, org) {
		pfx := key(pfxBillPair, org, cp) + "/"
		if role == "consumer" {
			pfx = key(pfxBillPair, cp, org) + "/"
		}
		start, end, _, _, err := timeRange(pfx, from, to)
		if err != nil {
			return nil, 0, 0, err
		}
		streams = append(streams, billStream{counterparty: cp, pfx: pfx, start: start, end: end})
	}
	return streams, f, tt, nil
}

// counterparties returns every org that org may have bills with: the
// members and former members but org, sorted.
func counterparties(c *Consortium, org string) []string {
	var cps []string
	for _, list := range [][]string{c.Members, c.Former} {
		for _, m := range list {
			if m != org && !slices.Contains(cps, m) {
				cps = append(cps, m)
			}
		}
	}
	sort.Strings(cps)
	return cps
}

// A bill's position in a merged list is its period end (20 digits) and ID,
// "<end:020>/<bill id>". Byte order is (end, ID) order, and bill IDs are
// unique, so positions order every org's bills totally. A list's bookmark
// is the position of its page's last bill.

// positionBill returns the bill ID of position pos.
func positionBill(pos string) string { return pos[len("00000000000000000000/"):] }

// checkBillBookmark checks that bookmark is a position inside the streams'
// time range: a bookmark of another query (or of layout 2, which was a key)
// would silently skip or repeat bills.
func checkBillBookmark(bookmark string, streams []billStream) error {
	bad := errf("bookmark %q is not from this query", bookmark)
	if len(bookmark) < 22 || bookmark[20] != '/' {
		return bad
	}
	for _, c := range bookmark[:20] {
		if c < '0' || c > '9' {
			return bad
		}
	}
	for _, s := range streams {
		if k := s.pfx + bookmark; k < s.start || k >= s.end {
			return bad
		}
	}
	return nil
}

// billPage returns the first n index entries of the streams after the
// position bookmark (from the start if empty), in position order, and the
// bookmark of the next page ("" if none). It reads at most n+1 entries of
// each stream.
func billPage(t *txn, streams []billStream, n int, bookmark string) ([]string, string, error) {
	if bookmark != "" {
		if err := checkBillBookmark(bookmark, streams); err != nil {
			return nil, "", err
		}
	}
	var pos []string
	for _, s := range streams {
		from := s.start
		if bookmark != "" {
			from = s.pfx + bookmark + "\x00"
		}
		if err := scanN(t, from, s.end, n+1, func(k string, _ []byte) error {
			pos = append(pos, k[len(s.pfx):])
			return nil
		}); err != nil {
			return nil, "", err
		}
	}
	sort.Strings(pos)
	if len(pos) > n {
		return pos[:n], pos[n-1], nil
	}
	return pos, "", nil
}

// billTotals sums the index entries of the streams per counterparty and
// currency (side names the sums in overflow errors: "receivable" or
// "payable"), in counterparty, currency and scale order.
func billTotals(t *txn, streams []billStream, side string) ([]Total, error) {
	out := []Total{}
	for _, s := range streams {
		sums := map[[2]string]*Total{}
		err := scanAll(t, s.start, s.end, func(k string, v []byte) error {
			ix, err := decodeBillIndex(v)
			if err != nil {
				return corrupt(k, err)
			}
			id := [2]string{ix.Currency, itoa(ix.Scale)}
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
		first := len(out)
		for _, sum := range sums {
			out = append(out, *sum)
		}
		part := out[first:]
		sort.Slice(part, func(i, j int) bool {
			if part[i].Currency != part[j].Currency {
				return part[i].Currency < part[j].Currency
			}
			return part[i].Scale < part[j].Scale
		})
	}
	return out, nil
}
