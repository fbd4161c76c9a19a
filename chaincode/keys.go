package chaincode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Key layout. Every key is a simple (range-queryable) key made of a fixed
// prefix and components joined by "/". Components are validated identifiers
// that cannot contain "/", and times are zero-padded so that the byte order
// of keys is the time order: to 20 digits, except in usage keys (11 digits,
// usagePad). chaincode/README.md documents each.
//
// LedgerLayout numbers this layout. ConsortiumInit records it in the
// consortium, and every transaction refuses a ledger that records a layout
// this contract does not read: a contract reading keys of a layout it does
// not know would not fail, it would find nothing (usage billed as zero).
//
// Layouts 3, 4 and 5 differ in the usage keys only (usage.go,
// usageLayout). Layout 4 leads the usage keys with the day of the period's
// end, so that a batch's inserts land in the newest part of the key space
// instead of all over it; layout 5 also keys a chosen record ID's marker by
// the record's end time before the ID, so that a batch's markers land
// together instead of at random places within the day. A ledger keeps
// being read and written in the layout it records.
const LedgerLayout = 5

// ledgerLayoutMarkersByDay (usage by day, chosen-ID markers by day and ID)
// and ledgerLayoutUsageByResource (usage by resource) are the previous
// layouts, still read and written on the ledgers that record them.
const (
	ledgerLayoutMarkersByDay    = 4
	ledgerLayoutUsageByResource = 3
)

// knownLayout reports whether this contract reads ledgers of layout l.
func knownLayout(l int) bool {
	return l == LedgerLayout || l == ledgerLayoutMarkersByDay || l == ledgerLayoutUsageByResource
}

// ErrLedgerLayout is the error of a transaction on a ledger whose
// consortium records another layout than LedgerLayout.
var ErrLedgerLayout = errors.New("the ledger is in another key layout")

const (
	keyConsortium   = "consortium"
	pfxProposal     = "proposal/"       // proposal/<id>
	pfxProposalOpen = "proposal-open/"  // proposal-open/<kind>/<subject> -> id
	pfxRule         = "rule/"           // rule/<hash>
	pfxRuleCode     = "rule-code/"      // rule-code/<hash> -> module bytes
	pfxRuleName     = "rule-name/"      // rule-name/<name>/<version> -> hash
	pfxActivation   = "activation/"     // activation/<type>
	pfxPrice        = "price/"          // price/<provider>/<type>
	pfxQuota        = "quota/"          // quota/<provider>/<consumer>
	pfxQuotaFree    = "quota-free/"     // quota-free/<provider>/<consumer>/<resource> -> spec returned at release
	pfxResource     = "resource/"       // resource/<id> -> what is fixed at request (resources.go)
	pfxResState     = "resource-state/" // resource-state/<id> -> what changes after it
	pfxResProvider  = "resource-by-provider/"
	pfxResConsumer  = "resource-by-consumer/"
	pfxUsage        = "usage/"        // usage/<resource>/<end:011>/<start:011> -> the period's records (usage.go)
	pfxUsageID      = "usage-id/"     // usage-id/<provider>/<record id>: chosen IDs only (layout 3)
	pfxUsageDay     = "usage-day/"    // usage-day/<day:07>/<resource>/<end:011>/<start:011>: layouts 4 and 5's usage/
	pfxUsageIDDay   = "usage-id-day/" // usage-id-day/<provider>/<day:07>/<record id>: layout 4's usage-id/
	pfxUsageIDEnd   = "usage-id-end/" // usage-id-end/<provider>/<end:011>/<record id>: layout 5's usage-id/
	pfxUsageTotal   = "usage-total/"  // usage-total/<resource> -> per-metric sums of its unbilled records
	pfxBill         = "bill/"         // bill/<bill id>
	pfxBillPair     = "bill-by-pair/" // bill-by-pair/<provider>/<consumer>/<end:020>/<bill id> (billindex.go)
)

// consortiumProposalSubject is the subject under which the one open
// consortium proposal is indexed.
const consortiumOpenKey = pfxProposalOpen + "consortium"

func key(prefix string, parts ...string) string {
	return prefix + strings.Join(parts, "/")
}

// pad formats a Unix time so that string order is numeric order: 20
// digits, zero-padded (negative times, which the contract never stores,
// keep fmt's "%020d" form).
func pad(t int64) string {
	if t < 0 {
		return fmt.Sprintf("%020d", t)
	}
	const zeros = "00000000000000000000"
	d := strconv.FormatInt(t, 10)
	return zeros[len(d):] + d
}

// maxUsageTime (model.MaxUsageTime) bounds the times of usage records (10^11 s, in the year
// 5138), so that usagePad's 11 digits keep string order numeric. Usage
// keys are the most numerous keys on the ledger; nine digits fewer in each
// of their two times is 18 bytes less in every key an agent's batch reads
// and writes, which the orderers carry and six peers validate and store.
const maxUsageTime = model.MaxUsageTime

// usagePad formats a time in a usage key: 11 digits, zero-padded. A time
// past the last storable one (a range bound) formats as ";", which sorts
// after every digit.
func usagePad(t int64) string {
	if t >= maxUsageTime {
		return ";"
	}
	if t < 0 {
		t = 0
	}
	const zeros = "00000000000"
	d := strconv.FormatInt(t, 10)
	return zeros[len(d):] + d
}

// usageDaySeconds is the width of the day in layouts 4 and 5's usage keys.
const usageDaySeconds = 86400

// usageDay formats the UTC day (days since 1970) of a period's end in a
// layout-4 or -5 usage key: 7 digits, zero-padded (maxUsageTime is day
// 1,157,407).
func usageDay(end int64) string {
	d := dayOf(end)
	const zeros = "0000000"
	s := strconv.FormatInt(d, 10)
	return zeros[len(s):] + s
}

// dayOf is the day of a usage time, clamped to the storable range.
func dayOf(t int64) int64 {
	if t < 0 {
		t = 0
	}
	if t >= maxUsageTime {
		t = maxUsageTime - 1
	}
	return t / usageDaySeconds
}

// prefixEnd is the smallest key greater than every key that starts with p.
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}
