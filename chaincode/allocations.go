package chaincode

import (
	"math"
	"math/big"
	"slices"
	"sort"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Prepaid allocations (issue 22): a provider grants a consumer an amount in
// a currency for a validity window, as research grants work; the bills of
// the provider to the consumer in that currency whose period ends inside the
// window draw it down, and crossing 80% and 100% of it is an event. An
// allocation may stop new resource requests once spent (hard stop).
//
// All of one pair's allocations are one key,
//
//	allocation/<provider>/<consumer> -> model.Allocations
//
// which billing reads with the rest of what a bill reads (billingKeys), so
// a bill of a pair without allocations costs one key more in the same round
// trip, nothing else. A bill that draws writes the key: bills of one pair
// while an allocation is in force are serialized on Fabric (one per block),
// the price of a balance that is exact at every bill. Windows of one pair in
// one currency may not overlap, so a bill draws on one allocation at most.

const pfxAllocation = "allocation/" // allocation/<provider>/<consumer>

func (t *txn) allocations(provider, consumer string) (*model.Allocations, error) {
	as := &model.Allocations{Provider: provider, Consumer: consumer}
	if _, err := t.getJSON(key(pfxAllocation, provider, consumer), as); err != nil {
		return nil, err
	}
	if as.Entries == nil {
		as.Entries = []model.Allocation{}
	}
	return as, nil
}

// allocationFor returns the allocation of as in currency and scale whose
// window holds time at, or nil.
func allocationFor(as *model.Allocations, currency string, scale int, at int64) *model.Allocation {
	for i := range as.Entries {
		a := &as.Entries[i]
		if a.Currency == currency && a.Scale == scale && a.ValidFrom <= at && at < a.ValidTo {
			return a
		}
	}
	return nil
}

// reached reports whether used is at least pct percent of amount (exact:
// the products can pass int64).
func reached(used, amount, pct int64) bool {
	u := new(big.Int).Mul(big.NewInt(used), big.NewInt(100))
	return u.Cmp(new(big.Int).Mul(big.NewInt(amount), big.NewInt(pct))) >= 0
}

// drawAllocations draws the bills (issued in this transaction, in order)
// from the allocations their pairs hold, writes each changed pair's
// allocations once, and returns the draws. A bill draws on the allocation
// of its pair, currency and scale whose window holds its period end; a
// threshold is crossed by the bill that takes the use from below it to at
// or above it, once: it stays reached (Allocation.Reached) until a top-up
// takes the use back below it. A bill of a negative amount (an adjustment
// that gives back) lowers the use without re-arming a threshold.
func (t *txn) drawAllocations(bills []*Bill) ([]model.AllocationDraw, error) {
	books := map[[2]string]*model.Allocations{}
	var order [][2]string
	var draws []model.AllocationDraw
	for _, b := range bills {
		pair := [2]string{b.Provider, b.Consumer}
		as, ok := books[pair]
		if !ok {
			var err error
			if as, err = t.allocations(b.Provider, b.Consumer); err != nil {
				return nil, err
			}
			books[pair] = as
		}
		a := allocationFor(as, b.Currency, b.Scale, b.Period.End)
		if a == nil {
			continue
		}
		if !slices.Contains(order, pair) {
			order = append(order, pair)
		}
		used, err := addChecked("the use of allocation "+a.ID, a.Used, b.Amount)
		if err != nil {
			return nil, err
		}
		a.Used, a.Balance, a.Bills, a.Updated = used, a.Amount-used, a.Bills+1, t.stamp()
		d := model.AllocationDraw{Allocation: a.ID, Bill: b.ID, Amount: b.Amount, Used: a.Used, Granted: a.Amount, Balance: a.Balance}
		for _, p := range a.Thresholds {
			if slices.Contains(a.Reached, p) || !reached(a.Used, a.Amount, p) {
				continue
			}
			a.Reached = append(a.Reached, p)
			a.Crossed = append(a.Crossed, model.ThresholdCrossing{Percent: p, Bill: b.ID, Used: a.Used, Amount: a.Amount, Stamp: t.stamp()})
			d.Crossed = append(d.Crossed, p)
		}
		sort.Slice(a.Reached, func(i, j int) bool { return a.Reached[i] < a.Reached[j] })
		draws = append(draws, d)
	}
	for _, pair := range order {
		if err := t.putJSON(key(pfxAllocation, pair[0], pair[1]), books[pair]); err != nil {
			return nil, err
		}
	}
	return draws, nil
}

func firstDraw(ds []model.AllocationDraw) *model.AllocationDraw {
	if len(ds) == 0 {
		return nil
	}
	return &ds[0]
}

// allocationStop refuses a request of consumer at provider, priced in
// price's currency, while an allocation of theirs with a hard stop is in
// force (now in its window) and spent (its use at or past its amount).
func (t *txn) allocationStop(provider, consumer string, price *PriceEntry) error {
	as, err := t.allocations(provider, consumer)
	if err != nil {
		return err
	}
	a := allocationFor(as, price.Currency, price.Scale, t.now)
	if a == nil || !a.HardStop || a.Used < a.Amount {
		return nil
	}
	return overQuota("allocation %s that %s granted %s is spent (%d of %d %s minor units used) and stops new requests; the provider tops it up with AllocationTopUp",
		a.ID, provider, consumer, a.Used, a.Amount, a.Currency)
}

// parseBool parses "true", "false" or "" (false).
func parseBool(field, s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "", "false":
		return false, nil
	}
	return false, errf("%s must be true or false, got %q", field, s)
}

// AllocationGrant grants consumer a prepaid allocation at the calling
// provider: allocationID (unique between the two orgs), amount (minor
// units, positive) in currency at scale, for bills whose period ends in
// [validFrom, validTo) (Unix seconds or RFC 3339; validFrom empty means
// now, validTo is required), and hardStop ("true" refuses the consumer's
// new requests priced in that currency while it is in force and spent;
// "false" or empty does not). Bills issued from now on draw it; windows of
// one pair in one currency may not overlap. Emits AllocationGranted.
// Admins of the provider org.
func (c *Contract) AllocationGrant(ctx contractapi.TransactionContextInterface, consumer, allocationID, amount, currency, scale, validFrom, validTo, hardStop string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("grant allocations")
	if err != nil {
		return "", err
	}
	if err := checkOrg("consumer", consumer); err != nil {
		return "", err
	}
	if consumer == t.msp {
		return "", errf("consumer %s is the provider itself; an org cannot grant itself an allocation", consumer)
	}
	if !slices.Contains(cons.Members, consumer) {
		return "", errf("consumer %s is not a member of the consortium", consumer)
	}
	if err := checkID("allocation_id", allocationID); err != nil {
		return "", err
	}
	amt, err := parseInt("amount", amount, 1, math.MaxInt64)
	if err != nil {
		return "", err
	}
	if err := checkCurrency("currency", currency); err != nil {
		return "", err
	}
	sc, err := parseInt("scale", scale, 0, 18)
	if err != nil {
		return "", err
	}
	from, err := parseTime("valid_from", validFrom, t.now)
	if err != nil {
		return "", err
	}
	if validTo == "" {
		return "", errf("valid_to is required: an allocation is granted for a window [valid_from, valid_to)")
	}
	to, err := parseTime("valid_to", validTo, 0)
	if err != nil {
		return "", err
	}
	if to <= from {
		return "", errf("valid_to %s must be after valid_from %s (default: now)", rfc3339(to), rfc3339(from))
	}
	if to <= t.now {
		return "", errf("valid_to %d is not after the transaction time %d: the allocation would never draw a bill", to, t.now)
	}
	stop, err := parseBool("hard_stop", hardStop)
	if err != nil {
		return "", err
	}
	as, err := t.allocations(t.msp, consumer)
	if err != nil {
		return "", err
	}
	for _, a := range as.Entries {
		if a.ID == allocationID {
			return "", conflict("allocation %s already exists between %s and %s; top it up with AllocationTopUp", a.ID, t.msp, consumer)
		}
		if a.Currency == currency && from < a.ValidTo && a.ValidFrom < to {
			return "", conflict("the window [%d, %d) overlaps allocation %s [%d, %d) in %s; a bill draws on one allocation, so windows in one currency may not overlap", from, to, a.ID, a.ValidFrom, a.ValidTo, a.Currency)
		}
	}
	if len(as.Entries) >= maxEntries {
		return "", conflict("%s already granted %s %d allocations, the most allowed", t.msp, consumer, maxEntries)
	}
	a := model.Allocation{ID: allocationID, Provider: t.msp, Consumer: consumer, Currency: currency, Scale: int(sc),
		Amount: amt, Balance: amt, ValidFrom: from, ValidTo: to, HardStop: stop,
		Thresholds: append([]int64(nil), model.DefaultThresholds...), Reached: []int64{}, Crossed: []model.ThresholdCrossing{},
		TopUps: []model.TopUp{}, By: t.actor(), Granted: t.stamp(), Updated: t.stamp()}
	as.Entries = append(as.Entries, a)
	sort.Slice(as.Entries, func(i, j int) bool {
		if as.Entries[i].ValidFrom != as.Entries[j].ValidFrom {
			return as.Entries[i].ValidFrom < as.Entries[j].ValidFrom
		}
		return as.Entries[i].ID < as.Entries[j].ID
	})
	if err := t.putJSON(key(pfxAllocation, t.msp, consumer), as); err != nil {
		return "", err
	}
	if err := t.setEvent("AllocationGranted", a); err != nil {
		return "", err
	}
	return out(a)
}

// AllocationTopUp adds amount (minor units, positive) to allocation
// allocationID that the calling provider granted consumer, before its
// window ends. Thresholds the use falls back below are re-armed: crossing
// them again is an event again. Emits AllocationToppedUp. Admins of the
// provider org.
func (c *Contract) AllocationTopUp(ctx contractapi.TransactionContextInterface, consumer, allocationID, amount string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.memberAdmin("top up allocations"); err != nil {
		return "", err
	}
	if err := checkOrg("consumer", consumer); err != nil {
		return "", err
	}
	if err := checkID("allocation_id", allocationID); err != nil {
		return "", err
	}
	amt, err := parseInt("amount", amount, 1, math.MaxInt64)
	if err != nil {
		return "", err
	}
	as, err := t.allocations(t.msp, consumer)
	if err != nil {
		return "", err
	}
	a := findAllocation(as, allocationID)
	if a == nil {
		return "", notFound("%s granted %s no allocation %s", t.msp, consumer, allocationID)
	}
	if t.now >= a.ValidTo {
		return "", conflict("allocation %s ended at %s; a top-up of an ended allocation would draw no bill (grant a new one)", a.ID, rfc3339(a.ValidTo))
	}
	if len(a.TopUps) >= maxEntries {
		return "", conflict("allocation %s already has %d top-ups, the most allowed (it keeps each); grant a new one", a.ID, maxEntries)
	}
	total, err := addChecked("the amount of allocation "+a.ID, a.Amount, amt)
	if err != nil {
		return "", err
	}
	a.Amount, a.Balance, a.Updated = total, total-a.Used, t.stamp()
	a.TopUps = append(a.TopUps, model.TopUp{Amount: amt, By: t.actor(), Stamp: t.stamp()})
	kept := []int64{}
	for _, p := range a.Reached {
		if reached(a.Used, a.Amount, p) {
			kept = append(kept, p)
		}
	}
	a.Reached = kept
	if err := t.putJSON(key(pfxAllocation, t.msp, consumer), as); err != nil {
		return "", err
	}
	if err := t.setEvent("AllocationToppedUp", a); err != nil {
		return "", err
	}
	return out(a)
}

func findAllocation(as *model.Allocations, id string) *model.Allocation {
	for i := range as.Entries {
		if as.Entries[i].ID == id {
			return &as.Entries[i]
		}
	}
	return nil
}

// AllocationGet returns allocation allocationID that provider granted
// consumer, with its balance and the thresholds crossed. The two orgs only.
func (c *Contract) AllocationGet(ctx contractapi.TransactionContextInterface, provider, consumer, allocationID string) (string, error) {
	_, as, err := allocationsRead(ctx, provider, consumer)
	if err != nil {
		return "", err
	}
	if err := checkID("allocation_id", allocationID); err != nil {
		return "", err
	}
	a := findAllocation(as, allocationID)
	if a == nil {
		return "", notFound("%s granted %s no allocation %s", provider, consumer, allocationID)
	}
	return out(a)
}

// AllocationList returns every allocation provider granted consumer. The
// two orgs only.
func (c *Contract) AllocationList(ctx contractapi.TransactionContextInterface, provider, consumer string) (string, error) {
	_, as, err := allocationsRead(ctx, provider, consumer)
	if err != nil {
		return "", err
	}
	return out(as)
}

func allocationsRead(ctx contractapi.TransactionContextInterface, provider, consumer string) (*txn, *model.Allocations, error) {
	t, err := begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := t.member("read allocations"); err != nil {
		return nil, nil, err
	}
	if err := checkOrg("provider", provider); err != nil {
		return nil, nil, err
	}
	if err := checkOrg("consumer", consumer); err != nil {
		return nil, nil, err
	}
	if err := t.party("the allocations "+provider+" granted "+consumer, provider, consumer); err != nil {
		return nil, nil, err
	}
	as, err := t.allocations(provider, consumer)
	return t, as, err
}
