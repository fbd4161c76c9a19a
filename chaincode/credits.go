package chaincode

import (
	"encoding/json"
	"math"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Credit notes. A provider gives money back on a bill by issuing a bill of
// its own, of kind credit, whose amount is the credit negated and whose
// Adjusts names the bill it credits: the original is never rewritten, and
// every sum of bills (BillTotals, a statement) nets the two. The credit is
// the resource's next bill (<resource>:<seq>), so the resource's bill list
// shows it, and its period is the instant it was issued, (now, now]: it goes
// to the statement of the period in which it was issued, whichever
// statement its original was on. It gives back to the prepaid allocation
// its original drew on, if any, without re-arming a threshold (as a
// re-rating adjustment that gives back).

// BillCredit issues a credit note of amount (minor units of the bill's
// currency and scale, more than zero) against bill billID, with a reason.
// The credits of a bill never exceed what it amounts to with its
// corrections: its amount plus every earlier credit note and re-rating
// adjustment of it. Only a bill a rule issued (release or period) is
// credited. Admins of the bill's provider only.
func (c *Contract) BillCredit(ctx contractapi.TransactionContextInterface, billID, amount, reason string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.memberAdmin("issue credit notes"); err != nil {
		return "", err
	}
	orig, err := t.loadBill(billID)
	if err != nil {
		return "", err
	}
	if t.msp != orig.Provider {
		if t.msp == orig.Consumer {
			return "", denied("only admins of %s, the provider of bill %s, may credit it; %s, its consumer, disputes a statement instead", orig.Provider, orig.ID, t.msp)
		}
		return "", denied("only admins of %s, the provider of bill %s, may credit it; the caller is %s", orig.Provider, orig.ID, t.role())
	}
	if orig.Kind != model.BillKindRelease && orig.Kind != model.BillKindPeriod {
		what := orig.Kind
		if orig.Adjusts != "" {
			what += " of bill " + orig.Adjusts
		}
		return "", errf("bill %s is a %s; credit a bill a rule issued (release or period)", orig.ID, what)
	}
	amt, err := parseInt("amount", amount, 1, math.MaxInt64)
	if err != nil {
		return "", err
	}
	if err := checkText("reason", reason, maxReason, true); err != nil {
		return "", err
	}
	r, err := t.loadResource(orig.Resource)
	if err != nil {
		return "", err
	}
	net, err := t.netOfCorrections(orig)
	if err != nil {
		return "", err
	}
	if amt > net {
		return "", conflict("amount %d is more than bill %s amounts to with its corrections (%d of %d %s): a bill is credited at most what it charges", amt, orig.ID, net, orig.Amount, orig.Currency)
	}
	r.Bills++
	b := &Bill{
		ID: model.BillID(r.ID, r.Bills), Kind: model.BillKindCredit,
		Provider: orig.Provider, Consumer: orig.Consumer, Resource: orig.Resource, ResourceType: orig.ResourceType,
		Period: Period{Start: t.now, End: t.now}, Amount: -amt, Currency: orig.Currency, Scale: orig.Scale,
		Lines: []BillLine{{Item: "credit note on bill " + orig.ID, Amount: -amt}},
		Tx:    t.id, IssuedAt: t.now, IssuedBy: t.actor(), Adjusts: orig.ID, Reason: reason,
	}
	if err := t.putJSON(key(pfxBill, b.ID), b); err != nil {
		return "", err
	}
	if err := t.putJSON(billIndexKey(b), billIndex{Currency: b.Currency, Scale: b.Scale, Amount: b.Amount}); err != nil {
		return "", err
	}
	if err := t.saveResource(r, false); err != nil {
		return "", err
	}
	// The credit gives back to the prepaid allocation its original drew
	// on (the one whose window holds the original's period end), not to
	// whichever allocation is in force when the credit is issued: the
	// money returned is the original's.
	drawn := *b
	drawn.Period.End = orig.Period.End
	draws, err := t.drawAllocations([]*Bill{&drawn})
	if err != nil {
		return "", err
	}
	if err := t.setEvent("BillIssued", billEvent{ID: b.ID, Kind: b.Kind, Provider: b.Provider, Consumer: b.Consumer,
		Resource: b.Resource, Period: b.Period, Amount: b.Amount, Currency: b.Currency, Scale: b.Scale,
		Allocation: firstDraw(draws)}); err != nil {
		return "", err
	}
	return out(b)
}

// netOfCorrections is what bill orig amounts to with its corrections: its
// amount plus the amounts of the bills that adjust it (credit notes,
// re-rating adjustments), all among its resource's bills.
func (t *txn) netOfCorrections(orig *Bill) (int64, error) {
	net := orig.Amount
	pfx := key(pfxBill, orig.Resource) + ":"
	err := scanAll(t, pfx, prefixEnd(pfx), func(k string, v []byte) error {
		var b struct {
			Amount  int64  `json:"amount"`
			Adjusts string `json:"adjusts"`
		}
		if err := json.Unmarshal(v, &b); err != nil {
			return corrupt(k, err)
		}
		if b.Adjusts != orig.ID {
			return nil
		}
		var err error
		net, err = addChecked("bill "+orig.ID+" with its corrections", net, b.Amount)
		return err
	})
	return net, err
}
