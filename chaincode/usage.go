package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Usage storage (chaincode/README.md, "Usage layout"). The records of one
// resource over one period are stored together, one key per
// (resource, end, start):
//
//	usage/<resource>/<end:011>/<start:011>         -> {"<metric>": quantity, ...}
//	usage/<resource>/<end:011>/<start:011>/<tx id> -> [{"id","metric","quantity"}, ...]
//
// A metering agent reports every metric of a resource for the same period,
// so a period's records share one key instead of writing two keys each (the
// record and its dedupe marker): on Fabric every written key costs every
// peer a validation and a commit, and that, not the contract, bounded usage
// import. Billing's range scan by end time is unchanged.
//
// A record's ID is derived (DeriveUsageID) unless the agent chose one. A
// derived ID names its resource, metric and period, so a resubmission can
// only land in the same key: reading that key deduplicates it and no marker
// is written; such a key holds at most one record per metric. A chosen ID
// keeps a marker, usage-id/<provider>/<id>, holding the digest of what it
// carried, and its record goes to a key of the period and the submitting
// transaction (any number of chosen IDs may share a period: one growing
// value rewritten by every batch would make each batch cost more than the
// last).

// DeriveUsageID is the ID of a record submitted without one
// (model.DeriveUsageID): "u-" and 40 hex digits of the SHA-256 of its
// resource, metric, start and end.
func DeriveUsageID(u UsageRecord) string { return model.DeriveUsageID(u) }

// usageEntry is one record inside a period's value; its resource and period
// are in the key. ID is empty for a derived ID.
type usageEntry struct {
	ID       string `json:"id,omitempty"`
	Metric   string `json:"metric"`
	Quantity int64  `json:"quantity"`
}

// usageMarker records that a chosen record ID is used, with the digest of
// the record it carried and the transaction that submitted it.
type usageMarker struct {
	Digest string `json:"digest"`
	Tx     string `json:"tx"`
}

func usageKey(resource string, start, end int64) string {
	return key(pfxUsage, resource, usagePad(end), usagePad(start))
}

// derivedKey reports whether k is a period's key for derived records
// (usage/<resource>/<end>/<start>, no transaction ID).
func derivedKey(k string) bool { return strings.Count(k, "/") == 3 }

// encodeEntries is the stored value of a period key: for derived records,
// which are one per metric, an object of metric to quantity
// ({"cpu_seconds":3600,"egress_gib":2}: encoding/json sorts the keys); for
// chosen IDs, an array of {"id","metric","quantity"}.
func encodeEntries(k string, entries []usageEntry) []byte {
	if !derivedKey(k) {
		b, _ := json.Marshal(entries)
		return b
	}
	m := make(map[string]int64, len(entries))
	for _, e := range entries {
		m[e.Metric] = e.Quantity
	}
	b, _ := json.Marshal(m)
	return b
}

// decodeEntries reads what encodeEntries wrote; derived records come back
// ordered by metric.
func decodeEntries(k string, v []byte) ([]usageEntry, error) {
	var entries []usageEntry
	if !derivedKey(k) {
		err := json.Unmarshal(v, &entries)
		return entries, err
	}
	var m map[string]int64
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, err
	}
	for metric, q := range m {
		entries = append(entries, usageEntry{Metric: metric, Quantity: q})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Metric < entries[j].Metric })
	return entries, nil
}

// decodePeriod decodes a stored period value into records, with derived IDs
// filled in.
func decodePeriod(k string, v []byte) ([]UsageRecord, error) {
	rest, ok := strings.CutPrefix(k, pfxUsage)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 3 || len(parts) > 4 {
		return nil, ledgerf("%s is not a usage key", k)
	}
	var end, start int64
	if _, err := fmt.Sscanf(parts[1]+" "+parts[2], "%d %d", &end, &start); err != nil {
		return nil, ledgerf("%s is not a usage key: %v", k, err)
	}
	entries, err := decodeEntries(k, v)
	if err != nil {
		return nil, err
	}
	recs := make([]UsageRecord, len(entries))
	for i, e := range entries {
		recs[i] = UsageRecord{ID: e.ID, Resource: parts[0], Metric: e.Metric, Quantity: e.Quantity, Start: start, End: end}
		if e.ID == "" {
			recs[i].ID = DeriveUsageID(recs[i])
		}
	}
	return recs, nil
}

// usageResource is what UsageSubmit checks of a resource: the fields of its
// state (resourceState) it needs. Decoding only them skips the stamps'
// strings (a fifth of the chaincode's CPU under usage load, when the whole
// resource was read). The state does not hold the resource's ID, and
// decodedResources shares one value among resources with the same state
// bytes: messages name the record's resource.
type usageResource struct {
	Type      string `json:"type"`
	Provider  string `json:"provider"`
	Status    string `json:"status"`
	Activated *struct {
		Time int64 `json:"time"`
	} `json:"activated"`
	ExpiresAt int64 `json:"expires_at"`
	BilledTo  int64 `json:"billed_to"`
}

// decodedResources keeps what UsageSubmit decoded of recently read resource
// values, keyed by the stored bytes: a metering agent reports the same
// resources batch after batch, and decoding their JSON was a fifth of the
// contract's time per record. The decoded value is a function of the bytes
// alone, so a hit returns exactly what decoding would (it is never
// modified); a changed resource is a different key. Bounded: cleared when
// full.
var decodedResources = struct {
	sync.Mutex
	m map[string]*usageResource
}{m: map[string]*usageResource{}}

const maxDecodedResources = 20000

// decodeUsageResource decodes the stored resource k (nil: absent) through
// decodedResources.
func decodeUsageResource(k string, v []byte) (*usageResource, bool, error) {
	if v == nil {
		return nil, false, nil
	}
	c := &decodedResources
	c.Lock()
	r := c.m[string(v)]
	c.Unlock()
	if r != nil {
		return r, true, nil
	}
	r = new(usageResource)
	if _, err := decodeStored(k, v, r); err != nil {
		return nil, false, err
	}
	c.Lock()
	if len(c.m) >= maxDecodedResources {
		clear(c.m)
	}
	c.m[string(v)] = r
	c.Unlock()
	return r, true, nil
}

// UsageSubmit records a batch of usage records, a JSON array of
// {"id","resource","metric","quantity","start","end"} (times in Unix
// seconds), of rows [resource, metric, quantity, start, end] with an
// optional sixth element, the id (the same record in half the bytes), or of
// period rows [resource, start, end, {"<metric>": quantity, ...}] (every
// metric of a resource over a period, IDs derived), or of period tables
// {"start", "end", "metrics": [<metric>, ...], "rows": [[resource,
// quantity, ...], ...]} (the same metrics of many resources over one
// period, IDs derived: what a metering agent sends every period); the forms
// may be mixed, and the limit of 1,000 records counts the records of period
// rows and tables. id may be
// left out: the record then gets DeriveUsageID's ID, which IDs of the form
// u-<40 hex digits> are reserved for. Each record's ID
// is unique per provider: resubmitting an ID with the same content is a
// no-op (reported under duplicates); with different content it is refused.
// Each record must be for an active resource of the calling provider, for a
// metric its type defines, with a non-negative integer quantity, over a
// period inside the allocation (from activation to expiry, not in the
// future) that ends after the resource's last bill. The batch is all or
// nothing; the result counts the records accepted and lists the IDs of the
// duplicates. Any identity of the provider org.
func (c *Contract) UsageSubmit(ctx contractapi.TransactionContextInterface, records string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("submit usage")
	if err != nil {
		return "", err
	}
	items, err := model.DecodeUsageBatch(records)
	if err != nil {
		return "", err
	}
	// Parse everything first, then read every resource, period and marker
	// the batch touches in one round trip to the peer, and send the writes
	// together at the end (chaincode/README.md, "Usage throughput").
	var keys []string
	wanted := map[string]bool{}
	want := func(k string) {
		if !wanted[k] {
			wanted[k] = true
			keys = append(keys, k)
		}
	}
	for _, p := range items {
		if p.Err != nil {
			continue
		}
		want(key(pfxResState, p.Record.Resource))
		if p.Derived {
			want(usageKey(p.Record.Resource, p.Record.Start, p.Record.End))
		} else {
			want(key(pfxUsageID, t.msp, p.Record.ID))
		}
	}
	state, err := t.prefetch(keys)
	if err != nil {
		return "", err
	}
	t.batchWrites()
	res := UsageResult{Duplicates: []string{}}
	resources := map[string]*usageResource{}
	periods := map[string][]usageEntry{}
	loaded := map[string]int{} // entries of periods[k] already on the ledger
	inBatch := map[string]string{}
	for _, p := range items {
		at := p.At
		f := func(name string) string { return at.Label() + "." + name }
		if p.Err != nil {
			return "", p.Err
		}
		rec := p.Record
		r := resources[rec.Resource]
		if r == nil {
			k := key(pfxResState, rec.Resource)
			var ok bool
			if r, ok, err = decodeUsageResource(k, state[k]); err != nil {
				return "", err
			} else if !ok {
				return "", refuseAt(model.CodeNotFound, at, "%s: resource_id %s names no resource", f("resource"), rec.Resource)
			}
			resources[rec.Resource] = r
		}
		if r.Provider != t.msp {
			return "", refuseAt(model.CodeDenied, at, "%s: resource %s is provided by %s; only identities of %s may submit its usage, not %s", f("resource"), rec.Resource, r.Provider, r.Provider, t.msp)
		}
		if td := typeDef(cons, r.Type); td == nil || !contains(td.Metrics, rec.Metric) {
			defined := "none"
			if td != nil && len(td.Metrics) > 0 {
				defined = strings.Join(td.Metrics, ", ")
			}
			return "", refuseAt(model.CodeBadArgument, at, "%s %s is not a metric of type %s (defined: %s)", f("metric"), rec.Metric, r.Type, defined)
		}
		// What a repeated ID is compared with: for a derived ID only the
		// quantity can differ.
		digest := strconv.FormatInt(rec.Quantity, 10)
		if !p.Derived {
			b, _ := json.Marshal(rec)
			sum := sha256.Sum256(b)
			digest = hex.EncodeToString(sum[:])
		}
		if prev, ok := inBatch[rec.ID]; ok {
			if prev != digest {
				return "", refuseAt(model.CodeBadArgument, at, "%s %s appears twice in the batch with different content", f("id"), rec.ID)
			}
			res.Duplicates = append(res.Duplicates, rec.ID)
			continue
		}
		inBatch[rec.ID] = digest
		// Derived records share their period's key (at most one per
		// metric); records with chosen IDs, which any number may share,
		// go to a key of the period and the transaction, written blind.
		pk := usageKey(rec.Resource, rec.Start, rec.End)
		if !p.Derived {
			pk += "/" + t.id
		}
		entries, ok := periods[pk]
		if !ok {
			if state[pk] != nil {
				var err error
				if entries, err = decodeEntries(pk, state[pk]); err != nil {
					return "", corrupt(pk, err)
				}
			}
			loaded[pk] = len(entries)
		}
		if p.Derived {
			// The same derived ID can only be a record of this metric in
			// this period's value.
			if prev := findDerived(entries[:loaded[pk]], rec.Metric); prev != nil {
				if prev.Quantity != rec.Quantity {
					return "", refuseAt(model.CodeConflict, at, "%s %s was already submitted with quantity %d, not %d: resource %s's %s over (%d, %d] is recorded; a record cannot be changed", f("id"), rec.ID, prev.Quantity, rec.Quantity, rec.Resource, rec.Metric, rec.Start, rec.End)
				}
				res.Duplicates = append(res.Duplicates, rec.ID)
				continue
			}
		} else {
			var seen usageMarker
			mk := key(pfxUsageID, t.msp, rec.ID)
			if ok, err := decodeStored(mk, state[mk], &seen); err != nil {
				return "", err
			} else if ok {
				if seen.Digest != digest {
					return "", refuseAt(model.CodeConflict, at, "%s %s was already submitted (transaction %s) with different content; a record ID cannot be reused", f("id"), rec.ID, seen.Tx)
				}
				res.Duplicates = append(res.Duplicates, rec.ID)
				continue
			}
		}
		switch r.Status {
		case StatusRequested:
			return "", refuseAt(model.CodeConflict, at, "%s: resource %s is not active yet; usage starts at activation", f("resource"), rec.Resource)
		case StatusReleased:
			return "", refuseAt(model.CodeConflict, at, "%s: resource %s was released; its usage is closed", f("resource"), rec.Resource)
		}
		if rec.Start < r.Activated.Time {
			return "", refuseAt(model.CodeBadArgument, at, "%s %d is before resource %s was activated (%d)", f("start"), rec.Start, rec.Resource, r.Activated.Time)
		}
		if rec.End > r.ExpiresAt {
			return "", refuseAt(model.CodeBadArgument, at, "%s %d is after resource %s's allocation expires (%d)", f("end"), rec.End, rec.Resource, r.ExpiresAt)
		}
		if rec.End > t.now {
			return "", refuseAt(model.CodeBadArgument, at, "%s %d is in the future (transaction time %d)", f("end"), rec.End, t.now)
		}
		if rec.End <= r.BilledTo {
			return "", refuseAt(model.CodeConflict, at, "%s %d is not after the end of resource %s's last bill (%d); billed periods are closed", f("end"), rec.End, rec.Resource, r.BilledTo)
		}
		e := usageEntry{Metric: rec.Metric, Quantity: rec.Quantity}
		if !p.Derived {
			e.ID = rec.ID
			if err := t.putJSON(key(pfxUsageID, t.msp, rec.ID), usageMarker{Digest: digest, Tx: t.id}); err != nil {
				return "", err
			}
		}
		periods[pk] = append(entries, e)
		res.Accepted++
	}
	changed := make([]string, 0, len(periods))
	for k, entries := range periods {
		if len(entries) > loaded[k] {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	for _, k := range changed {
		if err := t.put(k, encodeEntries(k, periods[k])); err != nil {
			return "", err
		}
	}
	if err := t.flushWrites(); err != nil {
		return "", err
	}
	return out(res)
}

// findDerived returns the record with a derived ID for metric in a period's
// entries, or nil.
func findDerived(entries []usageEntry, metric string) *usageEntry {
	for i := range entries {
		if entries[i].ID == "" && entries[i].Metric == metric {
			return &entries[i]
		}
	}
	return nil
}

// UsageList lists a resource's usage records by end time, then start time
// (then derived IDs by metric, then chosen IDs by transaction and
// submission), a page at a time. A period's records are never split
// across pages, so a page may hold a few more records than pageSize. Its
// provider and consumer only.
func (c *Contract) UsageList(ctx contractapi.TransactionContextInterface, resourceID, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read usage"); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if err := t.party("the usage of resource "+r.ID, r.Provider, r.Consumer); err != nil {
		return "", err
	}
	n, err := parsePage(pageSize)
	if err != nil {
		return "", err
	}
	pfx := key(pfxUsage, r.ID) + "/"
	from, end := pfx, prefixEnd(pfx)
	if bookmark != "" {
		if bookmark < from || bookmark >= end {
			return "", errf("bookmark %q is not from this query", bookmark)
		}
		from = bookmark + "\x00"
	}
	it, err := openRange(t, from, end)
	if err != nil {
		return "", err
	}
	defer it.close()
	page := &Page[UsageRecord]{Items: []UsageRecord{}}
	last := ""
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return "", ledgerf("range query failed: %v", err)
		}
		if len(page.Items) >= n {
			page.Bookmark = last
			break
		}
		recs, err := decodePeriod(kv.GetKey(), kv.GetValue())
		if err != nil {
			return "", corrupt(kv.GetKey(), err)
		}
		page.Items = append(page.Items, recs...)
		last = kv.GetKey()
	}
	page.Count = len(page.Items)
	return out(page)
}
