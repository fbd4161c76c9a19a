package chaincode

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// ---- price books ----

// priceArg is the prices argument of PriceSet.
type priceArg struct {
	Currency   string                     `json:"currency"`
	Scale      json.RawMessage            `json:"scale"`
	UnitPrices map[string]json.RawMessage `json:"unit_prices"`
	Parameters []string                   `json:"parameters"`
}

// PriceSet publishes the calling provider's unit prices for a resource type
// from effectiveFrom (Unix seconds or RFC 3339; empty means now) on. prices is
// {"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":12,...}}: minor units
// of currency (10^-scale) per named unit. An optional "parameters":[names]
// marks entries of unit_prices that are quantities, not money (a tier bound,
// a free allowance); names starting with "free_" or containing "_upto_" are
// parameters without being listed (model.IsParameterName). Earlier entries stay (history);
// prices cannot be backdated. Admins of the provider org, which must be a
// member.
func (c *Contract) PriceSet(ctx contractapi.TransactionContextInterface, resourceType, prices, effectiveFrom string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("set prices")
	if err != nil {
		return "", err
	}
	if _, err := knownType(cons, "resource_type", resourceType); err != nil {
		return "", err
	}
	var arg priceArg
	if err := decodeJSON("prices", prices, &arg); err != nil {
		return "", err
	}
	if err := checkCurrency("prices.currency", arg.Currency); err != nil {
		return "", err
	}
	if arg.Scale == nil {
		return "", errf("prices.scale is required")
	}
	scale, err := jsonInt("prices.scale", arg.Scale)
	if err != nil {
		return "", err
	}
	if scale < 0 || scale > 18 {
		return "", errf("prices.scale must be between 0 and 18, got %d", scale)
	}
	if len(arg.UnitPrices) == 0 {
		return "", errf("prices.unit_prices must name at least one unit price")
	}
	units, err := intMap("prices.unit_prices", arg.UnitPrices)
	if err != nil {
		return "", err
	}
	params, err := priceParameters(arg.Parameters, units)
	if err != nil {
		return "", err
	}
	eff, err := parseTime("effective_from", effectiveFrom, t.now)
	if err != nil {
		return "", err
	}
	if eff < t.now {
		return "", errf("effective_from %d is before the transaction time %d; prices cannot be backdated", eff, t.now)
	}
	book := PriceBook{Provider: t.msp, Type: resourceType}
	if _, err := t.getJSON(key(pfxPrice, t.msp, resourceType), &book); err != nil {
		return "", err
	}
	for _, e := range book.Entries {
		if e.EffectiveFrom == eff {
			return "", conflict("effective_from %d already has prices of %s for %s; choose another time", eff, t.msp, resourceType)
		}
	}
	if len(book.Entries) >= maxEntries {
		return "", conflict("the price book of %s for %s already has %d entries, the most allowed", t.msp, resourceType, maxEntries)
	}
	book.Entries = append(book.Entries, PriceEntry{EffectiveFrom: eff, Currency: arg.Currency, Scale: int(scale), UnitPrices: units, Parameters: params, By: t.actor(), Stamp: t.stamp()})
	sort.Slice(book.Entries, func(i, j int) bool { return book.Entries[i].EffectiveFrom < book.Entries[j].EffectiveFrom })
	if err := t.putJSON(key(pfxPrice, t.msp, resourceType), book); err != nil {
		return "", err
	}
	return out(book)
}

// priceParameters checks PriceSet's parameters list: each name an entry of
// unit_prices, none twice. It returns them sorted, or nil for none (so an
// entry without parameters is stored as before).
func priceParameters(names []string, units map[string]int64) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := append([]string(nil), names...)
	sort.Strings(out)
	for i, n := range out {
		if _, ok := units[n]; !ok {
			if len(n) > 80 {
				n = n[:80] + "..."
			}
			return nil, errf("prices.parameters names %q, which is not in prices.unit_prices", n)
		}
		if i > 0 && out[i-1] == n {
			return nil, errf("prices.parameters names %q twice", n)
		}
	}
	return out, nil
}

// entryAt returns the entry in force at time at, or nil.
func entryAt(b *PriceBook, at int64) *PriceEntry {
	var cur *PriceEntry
	for i := range b.Entries {
		if b.Entries[i].EffectiveFrom <= at {
			cur = &b.Entries[i]
		}
	}
	return cur
}

func (t *txn) priceAt(provider, typ string, at int64) (*PriceEntry, error) {
	var book PriceBook
	if _, err := t.getJSON(key(pfxPrice, provider, typ), &book); err != nil {
		return nil, err
	}
	e := entryAt(&book, at)
	if e == nil {
		return nil, notFound("%s has no price for type %s in force at %d; the provider publishes one with PriceSet", provider, typ, at)
	}
	return e, nil
}

// pricedEntry is what PriceGet returns.
type pricedEntry struct {
	Provider string     `json:"provider"`
	Type     string     `json:"type"`
	Entry    PriceEntry `json:"entry"`
}

// PriceGet returns a provider's prices for a type in force at time at (Unix
// seconds or RFC 3339; empty means now). Prices are public to every member.
func (c *Contract) PriceGet(ctx contractapi.TransactionContextInterface, provider, resourceType, at string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read prices")
	if err != nil {
		return "", err
	}
	if err := checkOrg("provider", provider); err != nil {
		return "", err
	}
	if _, err := knownType(cons, "resource_type", resourceType); err != nil {
		return "", err
	}
	when, err := parseTime("at", at, t.now)
	if err != nil {
		return "", err
	}
	e, err := t.priceAt(provider, resourceType, when)
	if err != nil {
		return "", err
	}
	return out(pricedEntry{Provider: provider, Type: resourceType, Entry: *e})
}

// PriceHistory returns a provider's whole price book for a type.
func (c *Contract) PriceHistory(ctx contractapi.TransactionContextInterface, provider, resourceType string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read prices")
	if err != nil {
		return "", err
	}
	if err := checkOrg("provider", provider); err != nil {
		return "", err
	}
	if _, err := knownType(cons, "resource_type", resourceType); err != nil {
		return "", err
	}
	book := PriceBook{Provider: provider, Type: resourceType, Entries: []PriceEntry{}}
	if _, err := t.getJSON(key(pfxPrice, provider, resourceType), &book); err != nil {
		return "", err
	}
	return out(book)
}

// PriceList returns the entries in force now of every type of one provider,
// or of every provider when provider is empty, a page at a time.
func (c *Contract) PriceList(ctx contractapi.TransactionContextInterface, provider, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read prices"); err != nil {
		return "", err
	}
	start := pfxPrice
	if provider != "" {
		if err := checkOrg("provider", provider); err != nil {
			return "", err
		}
		start = key(pfxPrice, provider) + "/"
	}
	page, err := scanPage(t, start, prefixEnd(start), pageSize, bookmark, func(k string, v []byte) (*pricedEntry, bool, error) {
		var b PriceBook
		if err := json.Unmarshal(v, &b); err != nil {
			return nil, false, err
		}
		e := entryAt(&b, t.now)
		if e == nil {
			return nil, false, nil
		}
		return &pricedEntry{Provider: b.Provider, Type: b.Type, Entry: *e}, true, nil
	})
	if err != nil {
		return "", err
	}
	return out(page)
}

// ---- quotas ----

// QuotaSet grants consumer limits at the calling provider: a JSON object of
// non-negative integers, e.g. {"max_days":365,"vcpu":10,"memory_gib":40}.
// "max_days" caps each resource's holding days; every other limit caps the
// sum of that spec field over the consumer's requested and active resources.
// A spec field without a limit cannot be requested. Replaces the previous
// limits (history kept); lowering a limit below what is held refuses new
// requests only. Admins of the provider org.
func (c *Contract) QuotaSet(ctx contractapi.TransactionContextInterface, consumer, limits string) (string, error) {
	return c.quotaSet(ctx, consumer, limits, "", "")
}

func (c *Contract) quotaSet(ctx contractapi.TransactionContextInterface, consumer, limits, validFrom, validTo string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("grant quotas")
	if err != nil {
		return "", err
	}
	if err := checkOrg("consumer", consumer); err != nil {
		return "", err
	}
	if consumer == t.msp {
		return "", errf("consumer %s is the provider itself; an org cannot grant itself a quota", consumer)
	}
	if !slices.Contains(cons.Members, consumer) {
		return "", errf("consumer %s is not a member of the consortium", consumer)
	}
	lim, err := parseIntMap("limits", limits, false)
	if err != nil {
		return "", err
	}
	if len(lim) == 0 {
		return "", errf("limits must name at least one limit")
	}
	from, to, err := quotaWindow(validFrom, validTo)
	if err != nil {
		return "", err
	}
	q := &Quota{Provider: t.msp, Consumer: consumer, Used: map[string]int64{}}
	var freed []string
	if ok, err := t.exists(key(pfxQuota, t.msp, consumer)); err != nil {
		return "", err
	} else if ok {
		// Fold the releases' returns in with the limits they were made under.
		if q, freed, err = t.quota(t.msp, consumer); err != nil {
			return "", err
		}
	}
	q.Limits, q.By, q.Updated = lim, t.actor(), t.stamp()
	q.ValidFrom, q.ValidTo = from, to
	if err := t.saveQuota(q, freed); err != nil {
		return "", err
	}
	return out(q)
}

// QuotaGet returns the quota provider granted consumer and how much of it is
// held. The two orgs only.
func (c *Contract) QuotaGet(ctx contractapi.TransactionContextInterface, provider, consumer string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read quotas"); err != nil {
		return "", err
	}
	if err := checkOrg("provider", provider); err != nil {
		return "", err
	}
	if err := checkOrg("consumer", consumer); err != nil {
		return "", err
	}
	if err := t.party("the quota "+provider+" granted "+consumer, provider, consumer); err != nil {
		return "", err
	}
	q, _, err := t.quota(provider, consumer)
	if err != nil {
		return "", err
	}
	return out(q)
}

// quota returns the quota provider granted consumer with what is held now:
// the use stored in quota/<provider>/<consumer> (updated by requests) less
// what releases returned since, each in its own quota-free/ key (so that
// releases between the same two orgs do not all write one key, which on
// Fabric would let only one release per block commit). freed are those
// keys: a transaction that saves the quota deletes them (saveQuota).
func (t *txn) quota(provider, consumer string) (q *Quota, freed []string, err error) {
	q = &Quota{}
	ok, err := t.getJSON(key(pfxQuota, provider, consumer), q)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, notFound("%s has no quota from %s; the provider grants one with QuotaSet", consumer, provider)
	}
	if q.Used == nil {
		q.Used = map[string]int64{}
	}
	pfx := key(pfxQuotaFree, provider, consumer) + "/"
	err = scanAll(t, pfx, prefixEnd(pfx), func(k string, v []byte) error {
		var spec map[string]int64
		if err := json.Unmarshal(v, &spec); err != nil {
			return ledgerf("%s is not valid: %v", k, err)
		}
		for _, name := range slices.Sorted(maps.Keys(spec)) {
			if _, limited := q.Limits[name]; limited || q.Used[name] != 0 {
				q.Used[name] -= spec[name]
				if q.Used[name] < 0 {
					q.Used[name] = 0
				}
			}
		}
		freed = append(freed, k)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return q, freed, nil
}

// saveQuota writes q and deletes the returns folded into it.
func (t *txn) saveQuota(q *Quota, freed []string) error {
	if err := t.putJSON(key(pfxQuota, q.Provider, q.Consumer), q); err != nil {
		return err
	}
	for _, k := range freed {
		if err := t.stub.DelState(k); err != nil {
			return ledgerf("deleting %s failed: %v", k, err)
		}
	}
	return nil
}
