package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/host"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Re-rating (issue 22): after a rule or price fix, a provider re-bills a
// closed period under the rule and prices in force now. Each bill of the
// period is recomputed through the path it was issued by (buildInput over
// the same usage range, runRule), with two differences: the rule is the one
// active for the type now and the price entry is the one in force now. The
// old bill is never rewritten: the difference between the recomputed amount
// and what the bill and its earlier adjustments came to is a bill of its own
// (model.BillKindAdjustment, Adjusts = the old bill), and a zero difference
// issues nothing, so re-rating twice with nothing changed issues nothing.
//
// An adjustment's lines are the rule's lines of the recomputation followed
// by one line "previously billed" of minus what the old bill and its earlier
// adjustments came to: they sum to its amount, as every bill's lines do, and
// an offline verifier reruns the rule on the rebuilt input (the price in
// force at the adjustment's issue time) and checks both parts.

// maxRerateBills bounds the bills one BillRerate recomputes: each runs the
// rule on every endorsing peer within one transaction.
const maxRerateBills = 100

// adjustedLine is the item of an adjustment's last line.
const adjustedLine = model.AdjustedLineItem

// AdjustmentLines are the lines of an adjustment whose recomputation is
// rerun and whose bill and earlier adjustments came to prior: the rule's
// lines, then minus prior. The contract (which stores them) and the offline
// verifier (which compares them) both use it.
func AdjustmentLines(rerun host.Bill, prior int64) []BillLine {
	return append(BillLines(rerun), BillLine{Item: adjustedLine, Amount: -prior})
}

// BillRerate recomputes the calling provider's bills (of kind release or
// period) with period end in [from, to) (Unix seconds or RFC 3339, both
// required) for resourceType, or for the one resource resourceID (give one
// of the two), under the rule active for the type now and the price in
// force now, and issues an adjustment bill for each whose amount changed,
// with reason (required). Returns a model.RerateResult and emits
// BillsRerated when it issued any. At most 100 bills per call. Admins of
// the provider org.
func (c *Contract) BillRerate(ctx contractapi.TransactionContextInterface, resourceType, resourceID, from, to, reason string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("re-rate bills")
	if err != nil {
		return "", err
	}
	if (resourceType == "") == (resourceID == "") {
		return "", errf("give exactly one of resource_type and resource_id")
	}
	if err := checkText("reason", reason, maxReason, true); err != nil {
		return "", err
	}
	if from == "" || to == "" {
		return "", errf("from and to are both required: re-rating recomputes the bills of a closed period [from, to)")
	}
	_, _, f, tt, err := timeRange(pfxBillPair, from, to)
	if err != nil {
		return "", err
	}
	in := func(b *Bill) bool {
		return (b.Kind == model.BillKindRelease || b.Kind == model.BillKindPeriod) && b.Period.End >= f && b.Period.End < tt
	}
	typ := resourceType
	var originals []*Bill
	if resourceID != "" {
		r, err := t.loadResource(resourceID)
		if err != nil {
			return "", err
		}
		if t.msp != r.Provider {
			return "", denied("only admins of %s, the provider of resource %s, may re-rate its bills; the caller is %s", r.Provider, r.ID, t.role())
		}
		typ = r.Type
		bills, err := t.resourceBills(r.ID)
		if err != nil {
			return "", err
		}
		for _, b := range bills {
			if in(b) {
				originals = append(originals, b)
			}
		}
	} else {
		if _, err := knownType(cons, "resource_type", resourceType); err != nil {
			return "", err
		}
		streams, _, _, err := t.billStreams(cons, "provider", t.msp, from, to)
		if err != nil {
			return "", err
		}
		for _, s := range streams {
			err := scanAll(t, s.start, s.end, func(k string, _ []byte) error {
				b, err := t.loadBill(positionBill(k[len(s.pfx):]))
				if err != nil {
					return refusef(model.CodeLedger, "the bill index key %s names a bill that cannot be read: %s", k, msgOf(err))
				}
				if b.ResourceType == typ && in(b) {
					originals = append(originals, b)
				}
				return nil
			})
			if err != nil {
				return "", err
			}
		}
	}
	if len(originals) > maxRerateBills {
		return "", errf("[%d, %d) holds %d bills of %s to re-rate; at most %d are re-rated in one transaction, so narrow from and to", f, tt, len(originals), typ, maxRerateBills)
	}
	sort.Slice(originals, func(i, j int) bool { return originals[i].ID < originals[j].ID })
	rule, err := t.activeRule(typ, t.now)
	if err != nil {
		return "", err
	}
	res := model.RerateResult{Rule: ruleRef(rule), Examined: len(originals), Adjustments: []model.RerateOutcome{}}
	resources := map[string]*Resource{}
	adjusted := map[string]int64{} // original bill ID -> sum of its adjustments
	var issued []*Bill
	for _, b := range originals {
		r, ok := resources[b.Resource]
		if !ok {
			if r, err = t.loadResource(b.Resource); err != nil {
				return "", err
			}
			resources[r.ID] = r
			bills, err := t.resourceBills(r.ID)
			if err != nil {
				return "", err
			}
			for _, x := range bills {
				if x.Kind == model.BillKindAdjustment && x.Adjusts != "" {
					if adjusted[x.Adjusts], err = addChecked("the adjustments of bill "+x.Adjusts, adjusted[x.Adjusts], x.Amount); err != nil {
						return "", err
					}
				}
			}
		}
		prior, err := addChecked("what bill "+b.ID+" and its adjustments came to", b.Amount, adjusted[b.ID])
		if err != nil {
			return "", err
		}
		bi, err := t.buildInputPriced(r, b.Period.Start, b.Period.End, t.now)
		if err != nil {
			return "", err
		}
		run, err := c.runRule(t, rule, bi.in, bi.price)
		if err != nil {
			return "", err
		}
		if run.Bill.Currency != b.Currency || run.Bill.Scale != b.Scale {
			return "", conflict("bill %s is in %s with scale %d, and the prices in force now are in %s with scale %d; re-rating issues a difference in the bill's currency only",
				b.ID, b.Currency, b.Scale, run.Bill.Currency, run.Bill.Scale)
		}
		if prior == math.MinInt64 {
			return "", errf("what bill %s and its adjustments came to (%d) cannot be negated", b.ID, prior)
		}
		diff, err := addChecked("the adjustment of bill "+b.ID, run.Bill.Total, -prior)
		if err != nil {
			return "", err
		}
		if diff == 0 {
			res.Unchanged++
			continue
		}
		sum := sha256.Sum256(bi.in)
		r.Bills++
		adj := &Bill{
			ID: model.BillID(r.ID, r.Bills), Kind: model.BillKindAdjustment,
			Provider: b.Provider, Consumer: b.Consumer, Resource: b.Resource, ResourceType: b.ResourceType,
			Period: b.Period, Rule: ruleRef(rule), GasUsed: run.GasUsed, InputHash: hex.EncodeToString(sum[:]),
			Amount: diff, Currency: b.Currency, Scale: b.Scale,
			Lines: AdjustmentLines(run.Bill, prior),
			Tx:    t.id, IssuedAt: t.now, IssuedBy: t.actor(), QuotaTx: bi.quotaTx, Adjusts: b.ID, Reason: reason,
			Corrections: bi.corrections,
		}
		if err := t.putJSON(key(pfxBill, adj.ID), adj); err != nil {
			return "", err
		}
		if err := t.putJSON(billIndexKey(adj), billIndex{Currency: adj.Currency, Scale: adj.Scale, Amount: adj.Amount}); err != nil {
			return "", err
		}
		issued = append(issued, adj)
		res.Adjustments = append(res.Adjustments, model.RerateOutcome{ID: adj.ID, Adjusts: b.ID, Previous: prior,
			Rerated: run.Bill.Total, Amount: diff, Currency: adj.Currency, Scale: adj.Scale})
	}
	saved := map[string]bool{}
	for _, adj := range issued { // in ID order, so in resource order
		if !saved[adj.Resource] {
			saved[adj.Resource] = true
			if err := t.saveResource(resources[adj.Resource], false); err != nil {
				return "", err
			}
		}
	}
	if res.Draws, err = t.drawAllocations(issued); err != nil {
		return "", err
	}
	if len(issued) > 0 {
		if err := t.setEvent("BillsRerated", res); err != nil {
			return "", err
		}
	}
	return out(res)
}

// resourceBills returns every bill of resource id, in order.
func (t *txn) resourceBills(id string) ([]*Bill, error) {
	pfx := key(pfxBill, id) + ":"
	var bills []*Bill
	err := scanAll(t, pfx, prefixEnd(pfx), func(k string, v []byte) error {
		var b Bill
		if err := json.Unmarshal(v, &b); err != nil {
			return corrupt(k, err)
		}
		bills = append(bills, &b)
		return nil
	})
	return bills, err
}
