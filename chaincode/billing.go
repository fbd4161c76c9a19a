package chaincode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/host"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// billInput is a rule input built from ledger state (buildInput) and what
// the bill records of how it was built.
type billInput struct {
	in    []byte
	price *PriceEntry
	// quotaTx is the transaction that set the limits read (the quota's
	// Updated.Tx; empty without a quota).
	quotaTx string
	// corrections are the IDs of the usage corrections (UsageAdjust) the
	// usage included, in ledger order: a correction written later to the
	// same period is not in this bill, and the verifier must know which
	// ones were (Bill.Corrections).
	corrections []string
}

// buildInput assembles a rule input from ledger state: the resource, the
// price entry in force at the period start, the quota limits, and the usage
// records whose end falls in (start, end], corrections included, summed
// per metric (exactly, model.UsageAcc).
func (t *txn) buildInput(r *Resource, start, end int64) (*billInput, error) {
	return t.buildInputPriced(r, start, end, start)
}

// buildInputPriced is buildInput with the price entry in force at priceAt
// (re-rating prices a past period at the prices in force now).
func (t *txn) buildInputPriced(r *Resource, start, end, priceAt int64) (*billInput, error) {
	price, err := t.priceAt(r.Provider, r.Type, priceAt)
	if err != nil {
		return nil, err
	}
	bi := &billInput{price: price}
	limits := map[string]int64{}
	var q Quota
	if ok, err := t.getJSON(key(pfxQuota, r.Provider, r.Consumer), &q); err != nil {
		return nil, err
	} else if ok {
		bi.quotaTx = q.Updated.Tx
		if q.Limits != nil {
			limits = q.Limits
		}
	}
	cons, err := t.consortium()
	if err != nil {
		return nil, err
	}
	usage, corrections, err := sumUsage(t, layoutOf(cons), r.ID, start, end)
	if err != nil {
		return nil, err
	}
	bi.corrections = corrections
	if bi.in, err = EncodeInput(r, price, limits, usage, start, end, t.id, t.now); err != nil {
		return nil, err
	}
	return bi, nil
}

// EncodeInput is the ABI v1 rule input (host/ABI.md) the contract builds
// (model.EncodeInput), refused when larger than the host profile's
// MaxInputBytes.
func EncodeInput(r *Resource, price *PriceEntry, limits, usage map[string]int64, start, end int64, txID string, now int64) ([]byte, error) {
	b, err := model.EncodeInput(r, price, limits, usage, start, end, txID, now)
	if err != nil {
		return nil, refusef(model.CodeInternal, "the rule input for resource %s cannot be encoded: %v", r.ID, err)
	}
	if len(b) > host.ProfileV1().MaxInputBytes {
		return nil, errf("the rule input for resource %s is %d bytes; at most %d are allowed", r.ID, len(b), host.ProfileV1().MaxInputBytes)
	}
	return b, nil
}

// runRule runs rule r on input and checks that it billed in the price
// book's currency and scale.
func (c *Contract) runRule(t *txn, r *Rule, input []byte, price *PriceEntry) (*host.Result, error) {
	code := func() ([]byte, error) { return t.ruleCodeUnrecorded(r.Hash) }
	// The rule's clock reads the transaction time in whole seconds, as
	// the input's tx.time does, so anyone holding a bill (IssuedAt is in
	// seconds) can rerun the rule exactly.
	call := host.Call{Input: input, GasLimit: BillGasLimit, TxTime: time.Unix(t.now, 0).UTC(), TxID: t.id}
	began := time.Now() // for the observer only: never in the ledger's data
	res, err := c.pricer.Price(context.Background(), r, code, call)
	if c.observer != nil {
		c.observer(observed(r, res, err, time.Since(began)))
	}
	if err != nil {
		return nil, ruleFailure(r, err)
	}
	if res.Bill.Currency != price.Currency || res.Bill.Scale != price.Scale {
		return nil, ruleFailed("rule %s %s (%s) billed in %s with scale %d, but the price book is in %s with scale %d; nothing was written",
			r.Name, r.Version, r.Hash, res.Bill.Currency, res.Bill.Scale, price.Currency, price.Scale)
	}
	return res, nil
}

// ruleCodeUnrecorded reads a rule's module for the pricer, which asks only
// when its process has not prepared the rule yet. The read must not enter
// the transaction's read set: whether an endorser's process had the rule
// cached would then change the read set, and endorsers with different
// caches would return different results (an endorsement mismatch that
// fails the transaction). So the module is read through the key's history,
// which Fabric does not record: rule-code/<hash> is written once, at
// upload, and never changes, and the prepared module's hash is checked
// against the one the rule's activation copied from the rule record, which
// is read as usual. A peer that has no history of the key (one
// bootstrapped from a snapshot taken after the upload) reads it as state
// instead.
func (t *txn) ruleCodeUnrecorded(hash string) ([]byte, error) {
	k := key(pfxRuleCode, hash)
	if it, err := t.stub.GetHistoryForKey(k); err == nil {
		var latest []byte
		for it.HasNext() {
			m, err := it.Next()
			if err != nil {
				latest = nil
				break
			}
			if !m.GetIsDelete() && len(m.GetValue()) > 0 && latest == nil {
				latest = m.GetValue() // newest first
			}
		}
		it.Close()
		if latest != nil {
			return latest, nil
		}
	}
	b, err := t.stub.GetState(k)
	if err != nil || b == nil {
		return nil, ledgerf("the code of rule %s could not be read", hash)
	}
	return b, nil
}

// BillLines is a rule's output as the bill's lines: the one conversion the
// contract (which stores them) and the offline verifier (which compares
// them) both use.
func BillLines(b host.Bill) []BillLine {
	ls := make([]BillLine, len(b.Lines))
	for i, l := range b.Lines {
		ls[i] = BillLine{Item: l.Item, Quantity: l.Quantity, Unit: l.Unit, UnitPrice: l.UnitPrice, Amount: l.Amount}
	}
	return ls
}

// billingKeys are the keys that billing r reads: the type's activations
// (which name the rule and carry what billing needs of it), the provider's
// price book for the type and the quota (issueBill then scans the usage).
func billingKeys(r *Resource) []string {
	return []string{key(pfxActivation, r.Type), key(pfxPrice, r.Provider, r.Type), key(pfxQuota, r.Provider, r.Consumer),
		key(pfxAllocation, r.Provider, r.Consumer)}
}

// issueBill bills resource r for (r.BilledTo, end] with the rule active
// for its type at ruleAt (end, except for a pending bill: then now, the rule
// the members put in place of the one that failed), stores the bill and its
// indexes, advances r (the caller saves r) and emits BillIssued.
func (c *Contract) issueBill(t *txn, r *Resource, end, ruleAt int64, kind string, overrun int64) (*Bill, error) {
	start := r.BilledTo
	if end <= start {
		return nil, conflict("the billing period of resource %s would be empty: it was billed up to %d", r.ID, start)
	}
	rule, err := t.activeRule(r.Type, ruleAt)
	if err != nil {
		return nil, err
	}
	bi, err := t.buildInput(r, start, end)
	if err != nil {
		return nil, err
	}
	res, err := c.runRule(t, rule, bi.in, bi.price)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(bi.in)
	r.Bills++
	b := &Bill{
		ID: model.BillID(r.ID, r.Bills), Kind: kind,
		Provider: r.Provider, Consumer: r.Consumer, Resource: r.ID, ResourceType: r.Type,
		Period: Period{Start: start, End: end}, Rule: ruleRef(rule), GasUsed: res.GasUsed,
		InputHash: hex.EncodeToString(sum[:]), Amount: res.Bill.Total, Currency: res.Bill.Currency, Scale: res.Bill.Scale,
		Lines: BillLines(res.Bill), Tx: t.id, IssuedAt: t.now, IssuedBy: t.actor(), QuotaTx: bi.quotaTx, Overrun: overrun,
		Corrections: bi.corrections,
	}
	r.BilledTo = end
	if err := t.putJSON(key(pfxBill, b.ID), b); err != nil {
		return nil, err
	}
	if err := t.putJSON(billIndexKey(b), billIndex{Currency: b.Currency, Scale: b.Scale, Amount: b.Amount}); err != nil {
		return nil, err
	}
	draws, err := t.drawAllocations([]*Bill{b})
	if err != nil {
		return nil, err
	}
	if err := t.setEvent("BillIssued", billEvent{ID: b.ID, Kind: b.Kind, Provider: b.Provider, Consumer: b.Consumer,
		Resource: b.Resource, Period: b.Period, Amount: b.Amount, Currency: b.Currency, Scale: b.Scale, RuleHash: rule.Hash,
		Allocation: firstDraw(draws)}); err != nil {
		return nil, err
	}
	return b, nil
}

type billEvent struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Provider string `json:"provider"`
	Consumer string `json:"consumer"`
	Resource string `json:"resource"`
	Period   Period `json:"period"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	RuleHash string `json:"rule_hash"`
	// Allocation is what the bill drew from a prepaid allocation, with the
	// thresholds it crossed (allocations.go); absent when none applies.
	Allocation *model.AllocationDraw `json:"allocation,omitempty"`
}

// BillClose closes a billing period of an active resource: it bills the
// period from the last bill to end (Unix seconds or RFC 3339; empty means
// now, never in the future) with the rule active for the type at end, and
// returns the bill's summary (BillGet reads the bill). Any identity of the
// provider.
func (c *Contract) BillClose(ctx contractapi.TransactionContextInterface, resourceID, end string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if err := checkID("resource_id", resourceID); err != nil {
		return "", err
	}
	if err := t.readAhead(append(resourceKeys(resourceID), keyConsortium)...); err != nil {
		return "", err
	}
	if _, err := t.member("close billing periods"); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if t.msp != r.Provider {
		return "", denied("only identities of %s, the provider of resource %s, may close its billing period; the caller is %s", r.Provider, r.ID, t.role())
	}
	if r.Status == StatusReleased && r.Pending != nil {
		return c.closePending(t, r, end)
	}
	if r.Status != StatusActive {
		return "", conflict("resource %s is %s; only an active resource, or a released one whose bill is pending, has an open billing period", r.ID, r.Status)
	}
	e, err := parseTime("end", end, t.now)
	if err != nil {
		return "", err
	}
	if e > t.now {
		return "", errf("end %d is in the future (transaction time %d)", e, t.now)
	}
	// Billing stops at the allocation's expiry, as usage does.
	if r.ExpiresAt > 0 && e > r.ExpiresAt {
		e = r.ExpiresAt
	}
	if e <= r.BilledTo {
		return "", conflict("end %d is not after the end of resource %s's last bill (%d); a resource is billed up to its allocation's expiry (%d) at most", e, r.ID, r.BilledTo, r.ExpiresAt)
	}
	if err := t.readAhead(billingKeys(r)...); err != nil {
		return "", err
	}
	b, err := c.issueBill(t, r, e, e, model.BillKindPeriod, 0)
	if err != nil {
		return "", err
	}
	if err := t.saveResource(r, false); err != nil {
		return "", err
	}
	return out(b.Summary())
}

// closePending issues the bill a release left pending: its period, with the
// rule active for the type now. end may be empty or the pending period's
// end. If the rule fails again, nothing is written and the bill stays
// pending.
func (c *Contract) closePending(t *txn, r *Resource, end string) (string, error) {
	p := r.Pending
	if end != "" {
		e, err := parseTime("end", end, t.now)
		if err != nil {
			return "", err
		}
		if e != p.End {
			return "", errf("end %d: resource %s was released at %d with its bill pending; that bill covers (%d, %d], so leave end out or give %d", e, r.ID, p.End, p.Start, p.End, p.End)
		}
	}
	if err := t.readAhead(billingKeys(r)...); err != nil {
		return "", err
	}
	b, err := c.issueBill(t, r, p.End, t.now, model.BillKindRelease, p.Overrun)
	if err != nil {
		return "", err
	}
	r.Pending = nil
	if err := t.saveResource(r, false); err != nil {
		return "", err
	}
	return out(b.Summary())
}

func (t *txn) loadBill(id string) (*Bill, error) {
	res, seq, ok := strings.Cut(id, ":")
	if !ok || checkID("bill_id", res) != nil || len(seq) != 6 {
		return nil, errf("bill_id %q is not valid: it must be <resource id>:<6-digit number>", id)
	}
	var b Bill
	ok, err := t.getJSON(key(pfxBill, id), &b)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("bill_id %s names no bill", id)
	}
	return &b, nil
}

// BillGet returns a bill. Its provider and consumer only.
func (c *Contract) BillGet(ctx contractapi.TransactionContextInterface, billID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read bills"); err != nil {
		return "", err
	}
	b, err := t.loadBill(billID)
	if err != nil {
		return "", err
	}
	if err := t.party("bill "+b.ID, b.Provider, b.Consumer); err != nil {
		return "", err
	}
	return out(b)
}

// timeRange parses from and to (Unix seconds or RFC 3339; empty means
// unbounded) into an index key range over period ends in [from, to).
func timeRange(pfx, from, to string) (string, string, int64, int64, error) {
	f, err := parseTime("from", from, 0)
	if err != nil {
		return "", "", 0, 0, err
	}
	tt, err := parseTime("to", to, 0)
	if err != nil {
		return "", "", 0, 0, err
	}
	start, end := pfx+pad(f), prefixEnd(pfx)
	if to != "" {
		if tt <= f {
			return "", "", 0, 0, errf("to %d must be after from %d", tt, f)
		}
		end = pfx + pad(tt)
	}
	return start, end, f, tt, nil
}

func (c *Contract) billList(ctx contractapi.TransactionContextInterface, role, org, from, to, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read bills")
	if err != nil {
		return "", err
	}
	if err := checkOrg(role, org); err != nil {
		return "", err
	}
	if org != t.msp {
		return "", denied("only identities of %s may list the bills where it is the %s; the caller is %s", org, role, t.role())
	}
	n, err := parsePage(pageSize)
	if err != nil {
		return "", err
	}
	streams, _, _, err := t.billStreams(cons, role, org, from, to)
	if err != nil {
		return "", err
	}
	pos, next, err := billPage(t, streams, n, bookmark)
	if err != nil {
		return "", err
	}
	page := &Page[*Bill]{Items: make([]*Bill, 0, len(pos)), Bookmark: next}
	for _, p := range pos {
		b, err := t.loadBill(positionBill(p))
		if err != nil {
			return "", refusef(model.CodeLedger, "the bill index names bill %s: %s", positionBill(p), msgOf(err))
		}
		page.Items = append(page.Items, b)
	}
	page.Count = len(page.Items)
	return out(page)
}

// BillListByProvider lists the bills provider issued, by period end in
// [from, to) (each Unix seconds or RFC 3339, empty for unbounded), a page at
// a time. The provider's identities only.
func (c *Contract) BillListByProvider(ctx contractapi.TransactionContextInterface, provider, from, to, pageSize, bookmark string) (string, error) {
	return c.billList(ctx, "provider", provider, from, to, pageSize, bookmark)
}

// BillListByConsumer lists the bills consumer received, by period end in
// [from, to), a page at a time. The consumer's identities only.
func (c *Contract) BillListByConsumer(ctx contractapi.TransactionContextInterface, consumer, from, to, pageSize, bookmark string) (string, error) {
	return c.billList(ctx, "consumer", consumer, from, to, pageSize, bookmark)
}

// BillListByResource lists a resource's bills in order, a page at a time.
// Its provider and consumer only.
func (c *Contract) BillListByResource(ctx contractapi.TransactionContextInterface, resourceID, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read bills"); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if err := t.party("the bills of resource "+r.ID, r.Provider, r.Consumer); err != nil {
		return "", err
	}
	// Bill IDs are <resource>:<seq:06>, so the resource's bills are the
	// range bill/<resource>: in order; no index is needed (and none is
	// written: every key a release writes costs every peer).
	pfx := key(pfxBill, r.ID) + ":"
	page, err := scanPage(t, pfx, prefixEnd(pfx), pageSize, bookmark, func(k string, v []byte) (*Bill, bool, error) {
		var b Bill
		return &b, true, json.Unmarshal(v, &b)
	})
	if err != nil {
		return "", err
	}
	return out(page)
}

// BillTotals sums the calling org's bills with period end in [from, to)
// (empty for unbounded): receivable (as provider) and payable (as consumer),
// per counterparty and currency, overflow-checked.
func (c *Contract) BillTotals(ctx contractapi.TransactionContextInterface, from, to string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read bill totals"); err != nil {
		return "", err
	}
	tot, err := t.totals(from, to, true, true)
	if err != nil {
		return "", err
	}
	return out(tot)
}

func (t *txn) totals(from, to string, receivable, payable bool) (*Totals, error) {
	cons, err := t.consortium()
	if err != nil {
		return nil, err
	}
	tot := &Totals{Org: t.msp, Receivable: []Total{}, Payable: []Total{}}
	for _, side := range []struct {
		on   bool
		role string
		name string
		dst  *[]Total
	}{{receivable, "provider", "receivable", &tot.Receivable}, {payable, "consumer", "payable", &tot.Payable}} {
		if !side.on {
			continue
		}
		streams, f, tt, err := t.billStreams(cons, side.role, t.msp, from, to)
		if err != nil {
			return nil, err
		}
		tot.From, tot.To = f, tt
		if *side.dst, err = billTotals(t, streams, side.name); err != nil {
			return nil, err
		}
	}
	return tot, nil
}

// BillQuote evaluates a rule for a hypothetical resource without writing
// anything: the price calculator. provider's price in force at start, the
// caller's quota from provider (if any), spec and usage (JSON objects of
// integers), period [start, end) (Unix seconds or RFC 3339), and the rule
// active for the type at end, or the rule named by codeHash if given: an
// approved rule for any member identity; a proposed one (priced before the
// vote) for admins of member orgs and the identity that uploaded it only; a
// revoked or rejected one never (mayRun). Any member identity otherwise.
func (c *Contract) BillQuote(ctx contractapi.TransactionContextInterface, provider, resourceType, spec, usage, start, end, codeHash string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("request quotes")
	if err != nil {
		return "", err
	}
	if err := checkOrg("provider", provider); err != nil {
		return "", err
	}
	td, err := knownType(cons, "resource_type", resourceType)
	if err != nil {
		return "", err
	}
	sp, err := parseIntMap("spec", spec, true)
	if err != nil {
		return "", err
	}
	for _, k := range slices.Sorted(maps.Keys(sp)) {
		if !slices.Contains(td.Spec, k) {
			return "", errf("spec field %s is not defined for type %s (defined: %s)", k, resourceType, strings.Join(td.Spec, ", "))
		}
	}
	us, err := parseIntMap("usage", usage, true)
	if err != nil {
		return "", err
	}
	for _, k := range slices.Sorted(maps.Keys(us)) {
		if !slices.Contains(td.Metrics, k) {
			return "", errf("usage metric %s is not defined for type %s (defined: %s)", k, resourceType, strings.Join(td.Metrics, ", "))
		}
	}
	s, err := parseTime("start", start, 0)
	if err != nil {
		return "", err
	}
	if start == "" {
		return "", errf("start is required")
	}
	e, err := parseTime("end", end, 0)
	if err != nil {
		return "", err
	}
	if end == "" || e <= s {
		return "", errf("end must be after start %d", s)
	}
	var rule *Rule
	if codeHash == "" {
		if rule, err = t.activeRule(resourceType, e); err != nil {
			return "", err
		}
	} else {
		if rule, err = t.loadRule(codeHash); err != nil {
			return "", err
		}
		if err := t.mayRun(rule); err != nil {
			return "", err
		}
		if !slices.Contains(rule.ResourceTypes, resourceType) {
			return "", errf("resource_type %s is not one of the types rule %s %s prices (%s)", resourceType, rule.Name, rule.Version, strings.Join(rule.ResourceTypes, ", "))
		}
	}
	price, err := t.priceAt(provider, resourceType, s)
	if err != nil {
		return "", err
	}
	limits := map[string]int64{}
	var q Quota
	if ok, err := t.getJSON(key(pfxQuota, provider, t.msp), &q); err != nil {
		return "", err
	} else if ok && q.Limits != nil {
		limits = q.Limits
	}
	r := &Resource{ID: "quote", Type: resourceType, Provider: provider, Consumer: t.msp, Spec: sp}
	input, err := EncodeInput(r, price, limits, us, s, e, t.id, t.now)
	if err != nil {
		return "", err
	}
	res, err := c.runRule(t, rule, input, price)
	if err != nil {
		var r *model.Refusal
		if errors.As(err, &r) {
			return "", model.Refuse(r.Code, strings.TrimSuffix(r.Msg, "; nothing was written"))
		}
		return "", err
	}
	sum := sha256.Sum256(input)
	return out(Quote{Rule: ruleRef(rule), GasUsed: res.GasUsed, InputHash: hex.EncodeToString(sum[:]), Input: input,
		Amount: res.Bill.Total, Currency: res.Bill.Currency, Scale: res.Bill.Scale, Lines: BillLines(res.Bill)})
}
