package chaincode

import (
	"fmt"
	"strconv"
	"strings"
)

// Key layout. Every key is a simple (range-queryable) key made of a fixed
// prefix and components joined by "/". Components are validated identifiers
// that cannot contain "/", and times are zero-padded to 20 digits so that the
// byte order of keys is the time order. chaincode/README.md documents each.
const (
	keyConsortium   = "consortium"
	pfxProposal     = "proposal/"      // proposal/<id>
	pfxProposalOpen = "proposal-open/" // proposal-open/<kind>/<subject> -> id
	pfxRule         = "rule/"          // rule/<hash>
	pfxRuleCode     = "rule-code/"     // rule-code/<hash> -> module bytes
	pfxRuleName     = "rule-name/"     // rule-name/<name>/<version> -> hash
	pfxActivation   = "activation/"    // activation/<type>
	pfxPrice        = "price/"         // price/<provider>/<type>
	pfxQuota        = "quota/"         // quota/<provider>/<consumer>
	pfxQuotaFree    = "quota-free/"    // quota-free/<provider>/<consumer>/<resource> -> spec returned at release
	pfxResource     = "resource/"      // resource/<id>
	pfxResProvider  = "resource-by-provider/"
	pfxResConsumer  = "resource-by-consumer/"
	pfxUsage        = "usage/"    // usage/<resource>/<end:020>/<start:020> -> the period's records (usage.go)
	pfxUsageID      = "usage-id/" // usage-id/<provider>/<record id>: chosen IDs only
	pfxBill         = "bill/"     // bill/<bill id>
	pfxBillProvider = "bill-by-provider/"
	pfxBillConsumer = "bill-by-consumer/"
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

// prefixEnd is the smallest key greater than every key that starts with p.
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}
