package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Usage corrections (issue 22): a usage record is never edited; a record
// sent wrong is corrected by a compensating record of its own, written by
// the party that sent it (an identity of the resource's provider org).
//
// A correction names the record it corrects by its resource, metric and
// period, and its ID (empty for a derived one), and says what the record's
// quantity should be (0 voids it) and why. It is stored as a record over
// the same resource, metric and period whose quantity is the signed
// difference from what the record and its earlier corrections came to,
// with adjusts (the record's ID) and reason: in a key of the period and
// the transaction, as chosen IDs are (usage.go), so billing, re-rating,
// UsageList, the offline verifier and exports read it with the record and
// sum them exactly (model.UsageAcc: a correction is negative, and partial
// sums in ledger order may pass int64 when the total does not).
//
// What it changes depends on where the period stands:
//   - not billed yet: the next bill sums the corrected usage, and the
//     usage totals (the overflow check, usage.go) move by the difference;
//     a raise that would make them pass int64 is refused;
//   - billed: the bill stays as it was (a bill is never rewritten); the
//     correction is on the ledger, and BillRerate over the period issues
//     the adjustment bill for the difference. A raise that would make the
//     bill's usage pass int64 is refused;
//   - a released resource's pending bill (usage whose sum overflowed, or a
//     failing rule): a correction to its records is summed by BillClose,
//     which is how usage that overflowed is settled.
//
// Correcting to the quantity the record already has writes nothing, so a
// correction sent twice is applied once.

// correctionID is the ID of the correction of record id in transaction
// txID: "c-" and 40 hex digits of their SHA-256.
func correctionID(id, txID string) string {
	sum := sha256.Sum256([]byte(id + "\n" + txID))
	return "c-" + hex.EncodeToString(sum[:20])
}

// UsageAdjust corrects the usage record of resourceID for metric over
// (start, end] (Unix seconds) with ID recordID (empty: the record's derived
// ID) to quantity (a non-negative integer; 0 voids it), with reason
// (required). Returns a model.UsageAdjustment: the quantity before and
// after, whether the period was billed already (then BillRerate bills the
// difference), and the correction written (none when the record already
// had that quantity). Any identity of the resource's provider org, which
// is the org that submits its usage.
func (c *Contract) UsageAdjust(ctx contractapi.TransactionContextInterface, resourceID, metric, start, end, recordID, quantity, reason string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("correct usage")
	if err != nil {
		return "", err
	}
	if err := checkID("resource_id", resourceID); err != nil {
		return "", err
	}
	if err := checkField("metric", metric); err != nil {
		return "", err
	}
	s, err := parseInt("start", start, 0, model.MaxUsageTime-1)
	if err != nil {
		return "", err
	}
	e, err := parseInt("end", end, 0, model.MaxUsageTime-1)
	if err != nil {
		return "", err
	}
	if e <= s {
		return "", errf("end %d must be after start %d", e, s)
	}
	rec := UsageRecord{ID: recordID, Resource: resourceID, Metric: metric, Start: s, End: e}
	derived := DeriveUsageID(rec)
	switch {
	case recordID == "":
		rec.ID = derived
	case model.IsCorrectionForm(recordID):
		return "", errf("record_id %s is a correction; correct the record it adjusts instead (its ID is the correction's adjusts)", recordID)
	case model.IsDerivedForm(recordID) && recordID != derived:
		return "", errf("record_id %s has the form of a derived ID but is not the one of resource %s's %s over (%d, %d] (%s); leave it empty for the derived record", recordID, resourceID, metric, s, e, derived)
	default:
		if err := checkID("record_id", recordID); err != nil {
			return "", err
		}
	}
	want, err := parseInt("quantity", quantity, 0, math.MaxInt64)
	if err != nil {
		return "", err
	}
	if err := checkText("reason", reason, maxReason, true); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if t.msp != r.Provider {
		if t.msp == r.Consumer {
			return "", denied("only identities of %s, the provider of resource %s, correct its usage (they submit it); %s, its consumer, asks them to, or disputes the statement", r.Provider, r.ID, t.msp)
		}
		return "", denied("only identities of %s, the provider of resource %s, may correct its usage; the caller is %s", r.Provider, r.ID, t.role())
	}
	if r.Status == StatusRequested {
		return "", conflict("resource %s is not active yet: it has no usage to correct", r.ID)
	}

	layout := layoutOf(cons)
	pk := layout.periodKey(r.ID, s, e)
	before, err := recordedQuantity(t, layout, pk, rec, derived == rec.ID)
	if err != nil {
		return "", err
	}
	res := model.UsageAdjustment{Record: rec.ID, Before: before, After: want, Billed: e <= r.BilledTo}
	delta := want - before // both in [0, MaxInt64]: cannot overflow
	if delta == 0 {
		return out(res)
	}
	if err := checkRaise(t, layout, r, rec, delta, res.Billed); err != nil {
		return "", err
	}
	corr := usageEntry{ID: correctionID(rec.ID, t.id), Metric: metric, Quantity: delta, Adjusts: rec.ID, Reason: reason}
	ck := pk + "/" + t.id
	if err := t.put(ck, encodeEntries(ck, []usageEntry{corr})); err != nil {
		return "", err
	}
	res.Correction = &UsageRecord{ID: corr.ID, Resource: r.ID, Metric: metric, Quantity: delta, Start: s, End: e, Adjusts: rec.ID, Reason: reason}
	// The consumer's bill changes (or, billed, will on re-rating): both
	// orgs hear of it.
	if err := t.setEvent("UsageAdjusted", usageAdjustedEvent{UsageAdjustment: res, Provider: r.Provider, Consumer: r.Consumer}); err != nil {
		return "", err
	}
	return out(res)
}

// usageAdjustedEvent is the payload of UsageAdjusted: the result, with the
// two orgs the resource is between.
type usageAdjustedEvent struct {
	model.UsageAdjustment
	Provider string `json:"provider"`
	Consumer string `json:"consumer"`
}

// recordedQuantity is what record rec (in period key pk) comes to with its
// corrections so far, or not_found if there is no such record.
func recordedQuantity(t *txn, l usageLayout, pk string, rec UsageRecord, derived bool) (int64, error) {
	var acc model.UsageAcc
	found := false
	if derived {
		v, err := t.get(pk)
		if err != nil {
			return 0, err
		}
		if v != nil {
			entries, err := decodeEntries(pk, v)
			if err != nil {
				return 0, corrupt(pk, err)
			}
			if e := findDerived(entries, rec.Metric); e != nil {
				acc.Add(rec.Metric, e.Quantity)
				found = true
			}
		}
	} else {
		var m usageMarker
		mk := l.markerKey(t.msp, rec.ID, rec.End)
		if ok, err := t.getJSON(mk, &m); err != nil {
			return 0, err
		} else if ok {
			k := pk + "/" + m.Tx
			v, err := t.get(k)
			if err != nil {
				return 0, err
			}
			entries, err := decodeEntries(k, v)
			if v != nil && err != nil {
				return 0, corrupt(k, err)
			}
			for _, e := range entries {
				if e.ID == rec.ID && e.Metric == rec.Metric && e.Adjusts == "" {
					acc.Add(rec.Metric, e.Quantity)
					found = true
				}
			}
		}
	}
	if !found {
		return 0, notFound("resource %s has no %s record %s over (%d, %d]: a correction names the record's resource, metric, start and end exactly, and its ID (none for a derived ID)", rec.Resource, rec.Metric, rec.ID, rec.Start, rec.End)
	}
	// Earlier corrections: in the period's transaction keys.
	err := scanAll(t, pk+"/", prefixEnd(pk+"/"), func(k string, v []byte) error {
		entries, err := decodeEntries(k, v)
		if err != nil {
			return corrupt(k, err)
		}
		for _, e := range entries {
			if e.Adjusts == rec.ID && e.Metric == rec.Metric {
				acc.Add(rec.Metric, e.Quantity)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sums, err := acc.Sums(rec.Resource)
	if err != nil {
		return 0, err
	}
	return sums[rec.Metric], nil
}

// checkRaise refuses a correction of rec by delta that would make a sum of
// usage no bill can hold: the resource's unbilled usage of the metric (and
// its usage totals, which it updates) when the period is not billed, the
// usage of the bill that holds the period when it is. Lowering never does.
func checkRaise(t *txn, l usageLayout, r *Resource, rec UsageRecord, delta int64, billed bool) error {
	over := func(sum int64, what string) error {
		return conflict("raising %s record %s of resource %s by %d would make %s sum past the largest quantity a bill can hold (%d, now %d); split the usage over smaller units", rec.Metric, rec.ID, r.ID, delta, what, int64(math.MaxInt64), sum)
	}
	if billed {
		if delta < 0 {
			return nil
		}
		var bill *Period
		pfx := key(pfxBill, r.ID) + ":"
		err := scanAll(t, pfx, prefixEnd(pfx), func(k string, v []byte) error {
			var b struct {
				Kind   string `json:"kind"`
				Period Period `json:"period"`
			}
			if err := json.Unmarshal(v, &b); err != nil {
				return corrupt(k, err)
			}
			if (b.Kind == model.BillKindRelease || b.Kind == model.BillKindPeriod) && b.Period.Start < rec.End && rec.End <= b.Period.End {
				bill = &b.Period
			}
			return nil
		})
		if err != nil {
			return err
		}
		if bill == nil {
			return internalf("internal error: resource %s is billed to %d, but no bill holds the period ending %d", r.ID, r.BilledTo, rec.End)
		}
		sums, _, err := sumUsage(t, l, r.ID, bill.Start, bill.End)
		if err != nil {
			return err
		}
		if err := sums.Add(r.ID, rec.Metric, delta); err != nil {
			return over(sums[rec.Metric], "the usage of its bill")
		}
		return nil
	}
	ur := &usageResource{Status: r.Status, ExpiresAt: r.ExpiresAt, BilledTo: r.BilledTo}
	tk := key(pfxUsageTotal, r.ID)
	tot := &usageTotal{}
	ok, err := t.getJSON(tk, tot)
	if err != nil {
		return err
	}
	if !ok || tot.From != r.BilledTo {
		sums, err := unbilledSums(t, l, r.ID, ur)
		if err != nil {
			return err
		}
		tot = &usageTotal{From: r.BilledTo, Sums: sums}
	}
	if tot.Sums == nil {
		tot.Sums = model.UsageSums{}
	}
	now := tot.Sums[rec.Metric]
	if err := tot.Sums.Add(r.ID, rec.Metric, delta); err != nil {
		return over(now, "its unbilled usage")
	}
	if r.Status != StatusActive {
		return nil // a released resource's totals are gone (ResourceRelease)
	}
	return t.putJSON(tk, tot)
}
