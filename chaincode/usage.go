package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Usage storage (chaincode/README.md, "Usage layout"). The records of one
// resource over one period are stored together, one key per
// (resource, end, start), under the UTC day of the period's end (ledger
// layouts 4 and 5; usageLayout):
//
//	usage-day/<day:07>/<resource>/<end:011>/<start:011>         -> {"<metric>": quantity, ...}
//	usage-day/<day:07>/<resource>/<end:011>/<start:011>/<tx id> -> [{"id","metric","quantity"}, ...]
//
// Layout-3 ledgers keep the same keys without the day, usage/<resource>/...
// The day comes first so that what a batch inserts (periods that just
// ended) lands in the newest day's keys, a part of the key space bounded by
// a day's usage: by resource first, a batch of 500 resources inserted into
// 500 places spread over the whole ledger, and the B+tree pages a commit
// rewrites (and the LevelDB blocks a peer compacts) grew with the ledger.
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
// keeps a marker, usage-id-end/<provider>/<end:011>/<id> (layout 4:
// usage-id-day/<provider>/<day>/<id>; layout 3: usage-id/<provider>/<id>),
// holding the digest of what it carried, and its record goes to a key of
// the period and the submitting transaction (any number of chosen IDs may
// share a period: one growing value rewritten by every batch would make
// each batch cost more than the last). A chosen ID is unique per provider
// and end time: a resubmitted record has the same end, so it is always
// found; an ID reused for a record that ends at another time is not
// compared. The end comes before the ID so that a batch's markers (records
// that ended together) are inserted side by side: keyed by the ID, random
// for accounting records (UUIDs), each of a batch's markers was inserted
// into its own page among the day's (chaincode/README.md, "Rationale: usage
// by day and usage totals").
//
// usage-total/<resource> holds the per-metric sums of the resource's
// records that are not billed yet (usageTotal): every batch reads and
// updates it, and refuses a record that would make a sum overflow int64,
// which no bill could then hold (issue 19).

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
	// A correction's (UsageAdjust): the record it corrects and why.
	Adjusts string `json:"adjusts,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// usageMarker records that a chosen record ID is used, with the digest of
// the record it carried and the transaction that submitted it.
type usageMarker struct {
	Digest string `json:"digest"`
	Tx     string `json:"tx"`
}

// usageLayout is where a ledger keeps its usage: usageMarkersByEnd (ledger
// layout 5), or usageMarkersByDay (layout 4) and usageByResource (layout
// 3), kept on the ledgers that record them.
type usageLayout int

const (
	usageMarkersByEnd usageLayout = LedgerLayout
	usageMarkersByDay usageLayout = ledgerLayoutMarkersByDay
	usageByResource   usageLayout = ledgerLayoutUsageByResource
)

// layoutOf is the usage layout of a ledger whose consortium is c.
func layoutOf(c *Consortium) usageLayout {
	if c != nil {
		switch c.Layout {
		case ledgerLayoutUsageByResource:
			return usageByResource
		case ledgerLayoutMarkersByDay:
			return usageMarkersByDay
		}
	}
	return usageMarkersByEnd
}

// periodKey is the key of resource's derived records over (start, end].
func (l usageLayout) periodKey(resource string, start, end int64) string {
	if l == usageByResource {
		return key(pfxUsage, resource, usagePad(end), usagePad(start))
	}
	return key(pfxUsageDay, usageDay(end), resource, usagePad(end), usagePad(start))
}

// markerKey is the dedupe marker of provider's chosen record ID id, of a
// record ending at end.
func (l usageLayout) markerKey(provider, id string, end int64) string {
	switch l {
	case usageByResource:
		return key(pfxUsageID, provider, id)
	case usageMarkersByDay:
		return key(pfxUsageIDDay, provider, usageDay(end), id)
	}
	return key(pfxUsageIDEnd, provider, usagePad(end), id)
}

// resourceRange is the key range of resource's periods that end in
// [from, to] (times clamped to the storable range) within one day of the
// by-day layout (day, in days since 1970), or over all time in the
// by-resource layout (day ignored).
func (l usageLayout) resourceRange(resource string, day, from, to int64) (string, string) {
	pfx := key(pfxUsage, resource) + "/"
	if l != usageByResource {
		pfx = key(pfxUsageDay, usageDay(day*usageDaySeconds), resource) + "/"
	}
	return pfx + usagePad(from), pfx + usagePad(to+1)
}

// days is the days whose keys hold periods ending in (from, to]: one range
// in the by-resource layout.
func (l usageLayout) days(from, to int64) (first, last int64) {
	if l == usageByResource || to <= from {
		return 0, 0
	}
	return dayOf(from + 1), dayOf(to)
}

// scan calls f on every stored period of resource that ends in (from, to],
// by end time, then start time (then transaction).
func (l usageLayout) scan(t *txn, resource string, from, to int64, f func(k string, v []byte) error) error {
	if to <= from {
		return nil
	}
	first, last := l.days(from, to)
	for d := first; d <= last; d++ {
		lo, hi := l.resourceRange(resource, d, from+1, to)
		if err := scanAll(t, lo, hi, f); err != nil {
			return err
		}
	}
	return nil
}

// usageKey is the key of resource's derived records over (start, end] on a
// ledger of the current layout.
func usageKey(resource string, start, end int64) string {
	return usageLayout(LedgerLayout).periodKey(resource, start, end)
}

// derivedKey reports whether k is a period's key for derived records
// (no transaction ID after the start).
func derivedKey(k string) bool {
	if strings.HasPrefix(k, pfxUsageDay) {
		return strings.Count(k, "/") == 4
	}
	return strings.Count(k, "/") == 3
}

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
	if day, byDay := strings.CutPrefix(k, pfxUsageDay); byDay {
		_, rest, ok = strings.Cut(day, "/")
	}
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
		recs[i] = UsageRecord{ID: e.ID, Resource: parts[0], Metric: e.Metric, Quantity: e.Quantity, Start: start, End: end,
			Adjusts: e.Adjusts, Reason: e.Reason}
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
// is unique per provider and end time: resubmitting an ID with the same
// content is a no-op (reported under duplicates); with different content
// and the same end it is refused (a derived ID names its end, so for it
// that is any different quantity).
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
	// Parse everything first, then read every resource, period and marker
	// the batch touches in one round trip to the peer, check and dedupe
	// each record in order, and send the writes together at the end
	// (chaincode/README.md, "Usage throughput").
	items, err := model.DecodeUsageBatch(records)
	if err != nil {
		return "", err
	}
	b, err := readUsageBatch(t, cons, items)
	if err != nil {
		return "", err
	}
	for _, p := range items {
		if err := b.add(p); err != nil {
			return "", err
		}
	}
	if err := b.write(); err != nil {
		return "", err
	}
	return out(b.res)
}

// usageBatch is a UsageSubmit in progress: what the batch read, and what it
// has accepted so far.
type usageBatch struct {
	t      *txn
	cons   *Consortium
	layout usageLayout
	state  map[string][]byte // every key the batch may need, read at once

	res       UsageResult
	resources map[string]*usageResource
	periods   map[string][]usageEntry    // by period key: entries on the ledger, then the batch's
	loaded    map[string]int             // how many of periods[k] are on the ledger
	inBatch   map[string]string          // record ID -> digest, for repeats inside the batch
	sums      map[string]model.UsageSums // by resource, then metric: what the batch adds
	totals    map[string]*usageTotal     // by resource: the unbilled usage, the batch's included
}

// usageTotal is the value of usage-total/<resource>: the per-metric sums of
// the resource's records that end after From, its billed_to when they were
// summed. A bill moves billed_to, so totals of another From are stale and
// summed again from the records (once; so are a resource's first totals on
// a ledger written before they existed).
type usageTotal struct {
	From int64           `json:"from"`
	Sums model.UsageSums `json:"sums"`
	// changed: the batch added to Sums (or summed them anew).
	changed bool
}

// readUsageBatch reads, in one round trip, the resource state and usage
// totals, and the period key or ID marker, of every record of the batch.
func readUsageBatch(t *txn, cons *Consortium, items []model.UsageItem) (*usageBatch, error) {
	layout := layoutOf(cons)
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
		want(key(pfxUsageTotal, p.Record.Resource))
		if p.Derived {
			want(layout.periodKey(p.Record.Resource, p.Record.Start, p.Record.End))
		} else {
			want(layout.markerKey(t.msp, p.Record.ID, p.Record.End))
		}
	}
	state, err := t.prefetch(keys)
	if err != nil {
		return nil, err
	}
	t.batchWrites()
	return &usageBatch{t: t, cons: cons, layout: layout, state: state, res: UsageResult{Duplicates: []string{}},
		resources: map[string]*usageResource{}, periods: map[string][]usageEntry{},
		loaded: map[string]int{}, inBatch: map[string]string{}, sums: map[string]model.UsageSums{},
		totals: map[string]*usageTotal{}}, nil
}

// add checks one record and stages it, or counts it as a duplicate. The
// checks run in a fixed order, so a record with several faults is refused
// for the same one on every peer: the record as parsed, its resource and
// metric, repeats (in the batch, then on the ledger), then its period.
func (b *usageBatch) add(p model.UsageItem) error {
	if p.Err != nil {
		return p.Err
	}
	r, err := b.resource(p)
	if err != nil {
		return err
	}
	digest := usageDigest(p)
	pk := b.layout.periodKey(p.Record.Resource, p.Record.Start, p.Record.End)
	if !p.Derived {
		// Records with chosen IDs, which any number may share, go to a
		// key of the period and the transaction, written blind.
		pk += "/" + b.t.id
	}
	dup, err := b.duplicate(p, digest, pk)
	if err != nil || dup {
		return err
	}
	if err := b.checkPeriod(p, r); err != nil {
		return err
	}
	return b.stage(p, r, digest, pk)
}

// resource returns the record's resource, checking that the caller
// provides it and that its type defines the metric.
func (b *usageBatch) resource(p model.UsageItem) (*usageResource, error) {
	rec, at := p.Record, p.At
	r := b.resources[rec.Resource]
	if r == nil {
		k := key(pfxResState, rec.Resource)
		var ok bool
		var err error
		if r, ok, err = decodeUsageResource(k, b.state[k]); err != nil {
			return nil, err
		} else if !ok {
			return nil, refuseAt(model.CodeNotFound, at, "%s: resource_id %s names no resource", field(at, "resource"), rec.Resource)
		}
		b.resources[rec.Resource] = r
	}
	if r.Provider != b.t.msp {
		return nil, refuseAt(model.CodeDenied, at, "%s: resource %s is provided by %s; only identities of %s may submit its usage, not %s", field(at, "resource"), rec.Resource, r.Provider, r.Provider, b.t.msp)
	}
	if td := typeDef(b.cons, r.Type); td == nil || !slices.Contains(td.Metrics, rec.Metric) {
		defined := "none"
		if td != nil && len(td.Metrics) > 0 {
			defined = strings.Join(td.Metrics, ", ")
		}
		return nil, refuseAt(model.CodeBadArgument, at, "%s %s is not a metric of type %s (defined: %s)", field(at, "metric"), rec.Metric, r.Type, defined)
	}
	return r, nil
}

// usageDigest is what a repeated ID is compared with: for a derived ID
// only the quantity can differ; for a chosen one, the whole record.
func usageDigest(p model.UsageItem) string {
	if p.Derived {
		return strconv.FormatInt(p.Record.Quantity, 10)
	}
	js, _ := json.Marshal(p.Record)
	sum := sha256.Sum256(js)
	return hex.EncodeToString(sum[:])
}

// duplicate reports whether the record was already submitted, in this
// batch or on the ledger, with the same content (a no-op, counted in the
// result), and refuses it if with other content. It loads the record's
// period into b.periods.
func (b *usageBatch) duplicate(p model.UsageItem, digest, pk string) (bool, error) {
	rec, at := p.Record, p.At
	if prev, ok := b.inBatch[rec.ID]; ok {
		if prev != digest {
			return false, refuseAt(model.CodeBadArgument, at, "%s %s appears twice in the batch with different content", field(at, "id"), rec.ID)
		}
		b.res.Duplicates = append(b.res.Duplicates, rec.ID)
		return true, nil
	}
	b.inBatch[rec.ID] = digest
	entries, ok := b.periods[pk]
	if !ok {
		if b.state[pk] != nil {
			var err error
			if entries, err = decodeEntries(pk, b.state[pk]); err != nil {
				return false, corrupt(pk, err)
			}
		}
		b.periods[pk] = entries
		b.loaded[pk] = len(entries)
	}
	if p.Derived {
		// The same derived ID can only be a record of this metric in
		// this period's value.
		if prev := findDerived(entries[:b.loaded[pk]], rec.Metric); prev != nil {
			if prev.Quantity != rec.Quantity {
				return false, refuseAt(model.CodeConflict, at, "%s %s was already submitted with quantity %d, not %d: resource %s's %s over (%d, %d] is recorded; a record cannot be changed", field(at, "id"), rec.ID, prev.Quantity, rec.Quantity, rec.Resource, rec.Metric, rec.Start, rec.End)
			}
			b.res.Duplicates = append(b.res.Duplicates, rec.ID)
			return true, nil
		}
		return false, nil
	}
	var seen usageMarker
	mk := b.layout.markerKey(b.t.msp, rec.ID, rec.End)
	if ok, err := decodeStored(mk, b.state[mk], &seen); err != nil {
		return false, err
	} else if ok {
		if seen.Digest != digest {
			return false, refuseAt(model.CodeConflict, at, "%s %s was already submitted (transaction %s) with different content; a record ID cannot be reused", field(at, "id"), rec.ID, seen.Tx)
		}
		b.res.Duplicates = append(b.res.Duplicates, rec.ID)
		return true, nil
	}
	return false, nil
}

// checkPeriod refuses a record of a resource that is not active, or over a
// period outside its allocation, in the future, or already billed.
func (b *usageBatch) checkPeriod(p model.UsageItem, r *usageResource) error {
	rec, at := p.Record, p.At
	switch r.Status {
	case StatusRequested:
		return refuseAt(model.CodeConflict, at, "%s: resource %s is not active yet; usage starts at activation", field(at, "resource"), rec.Resource)
	case StatusReleased:
		return refuseAt(model.CodeConflict, at, "%s: resource %s was released; its usage is closed", field(at, "resource"), rec.Resource)
	}
	switch {
	case rec.Start < r.Activated.Time:
		return refuseAt(model.CodeBadArgument, at, "%s %d is before resource %s was activated (%d)", field(at, "start"), rec.Start, rec.Resource, r.Activated.Time)
	case rec.End > r.ExpiresAt:
		return refuseAt(model.CodeBadArgument, at, "%s %d is after resource %s's allocation expires (%d)", field(at, "end"), rec.End, rec.Resource, r.ExpiresAt)
	case rec.End > b.t.now:
		return refuseAt(model.CodeBadArgument, at, "%s %d is in the future (transaction time %d)", field(at, "end"), rec.End, b.t.now)
	case rec.End <= r.BilledTo:
		return refuseAt(model.CodeConflict, at, "%s %d is not after the end of resource %s's last bill (%d); billed periods are closed", field(at, "end"), rec.End, rec.Resource, r.BilledTo)
	}
	return nil
}

// stage adds an accepted record to its period and its resource's totals
// (and writes the marker of a chosen ID). A record that would make a sum of
// the resource's unbilled usage of its metric pass int64 is refused here:
// no bill could hold that usage (bad_argument if this batch's records of
// the metric alone sum past it, conflict if the ledger's do with them).
func (b *usageBatch) stage(p model.UsageItem, r *usageResource, digest, pk string) error {
	rec := p.Record
	sums := b.sums[rec.Resource]
	if sums == nil {
		sums = model.UsageSums{}
		b.sums[rec.Resource] = sums
	}
	if err := sums.Add(rec.Resource, rec.Metric, rec.Quantity); err != nil {
		return refuseAt(model.CodeBadArgument, p.At, "%s %d: this batch's %s records of resource %s sum past the largest quantity a bill can hold (%d); split the usage over smaller units or check the agent", field(p.At, "quantity"), rec.Quantity, rec.Metric, rec.Resource, int64(math.MaxInt64))
	}
	tot, err := b.total(p, r)
	if err != nil {
		return err
	}
	if err := tot.Sums.Add(rec.Resource, rec.Metric, rec.Quantity); err != nil {
		return refuseAt(model.CodeConflict, p.At, "%s %d: resource %s's %s records not billed yet sum to %d on the ledger, and this one would make them pass the largest quantity a bill can hold (%d); the resource can still be billed and released; split the usage over smaller units or check the agent", field(p.At, "quantity"), rec.Quantity, rec.Resource, rec.Metric, tot.Sums[rec.Metric]-(sums[rec.Metric]-rec.Quantity), int64(math.MaxInt64))
	}
	tot.changed = true
	e := usageEntry{Metric: rec.Metric, Quantity: rec.Quantity}
	if !p.Derived {
		e.ID = rec.ID
		if err := b.t.putJSON(b.layout.markerKey(b.t.msp, rec.ID, rec.End), usageMarker{Digest: digest, Tx: b.t.id}); err != nil {
			return err
		}
	}
	b.periods[pk] = append(b.periods[pk], e)
	b.res.Accepted++
	return nil
}

// total returns the totals of p's resource r: as stored, or summed from
// its records when missing or stale (usageTotal).
func (b *usageBatch) total(p model.UsageItem, r *usageResource) (*usageTotal, error) {
	res := p.Record.Resource
	if tot := b.totals[res]; tot != nil {
		return tot, nil
	}
	k := key(pfxUsageTotal, res)
	tot := &usageTotal{}
	ok, err := decodeStored(k, b.state[k], tot)
	if err != nil {
		return nil, err
	}
	if !ok || tot.From != r.BilledTo {
		// Records end no later than the transaction time and the
		// allocation's expiry (checkPeriod).
		sums, err := unbilledSums(b.t, b.layout, res, r)
		if err != nil {
			if errors.Is(err, model.ErrUsageOverflow) {
				return nil, refuseAt(model.CodeConflict, p.At, "%s: resource %s's records not billed yet already sum past the largest quantity a bill can hold (%d), accepted before fedmeter checked it (%s); no more usage can be recorded for it until the records are corrected (UsageAdjust)", field(p.At, "resource"), res, int64(math.MaxInt64), model.MessageOf(err))
			}
			return nil, err
		}
		tot = &usageTotal{From: r.BilledTo, Sums: sums, changed: true}
	}
	if tot.Sums == nil {
		tot.Sums = model.UsageSums{}
	}
	b.totals[res] = tot
	return tot, nil
}

// unbilledSums sums resource res's records that are not billed yet: those
// ending after its billed_to (and no later than the transaction time and
// the allocation's expiry, which records never pass, checkPeriod).
func unbilledSums(t *txn, l usageLayout, res string, r *usageResource) (model.UsageSums, error) {
	sums, _, err := sumUsage(t, l, res, r.BilledTo, min(t.now, r.ExpiresAt))
	return sums, err
}

// sumUsage sums resource res's records that end in (from, to] in layout l,
// corrections included, exactly (model.UsageAcc: a correction is
// negative, and a partial sum in ledger order may pass int64 when the
// total does not), and returns the IDs of the corrections among them, in
// ledger order. An overflowing total is model.ErrUsageOverflow.
func sumUsage(t *txn, l usageLayout, res string, from, to int64) (model.UsageSums, []string, error) {
	var acc model.UsageAcc
	var corrections []string
	err := l.scan(t, res, from, to, func(k string, v []byte) error {
		entries, err := decodeEntries(k, v)
		if err != nil {
			return corrupt(k, err)
		}
		for _, e := range entries {
			acc.Add(e.Metric, e.Quantity)
			if e.Adjusts != "" {
				corrections = append(corrections, e.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sums, err := acc.Sums(res)
	return sums, corrections, err
}

// write puts every period the batch added to and every total it changed,
// in key order, and sends the writes.
func (b *usageBatch) write() error {
	changed := make([]string, 0, len(b.periods))
	for k, entries := range b.periods {
		if len(entries) > b.loaded[k] {
			changed = append(changed, k)
		}
	}
	sort.Strings(changed)
	for _, k := range changed {
		if err := b.t.put(k, encodeEntries(k, b.periods[k])); err != nil {
			return err
		}
	}
	resources := make([]string, 0, len(b.totals))
	for res, tot := range b.totals {
		if tot.changed && b.res.Accepted > 0 {
			resources = append(resources, res)
		}
	}
	sort.Strings(resources)
	for _, res := range resources {
		if err := b.t.putJSON(key(pfxUsageTotal, res), b.totals[res]); err != nil {
			return err
		}
	}
	return b.t.flushWrites()
}

// field names a field of the record at at, for messages.
func field(at model.Element, name string) string { return at.Label() + "." + name }

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
	cons, err := t.consortium()
	if err != nil {
		return "", err
	}
	layout := layoutOf(cons)
	// Usage ends after activation, and no later than the expiry and now
	// (checkPeriod); a resource never activated has none.
	var after, upTo int64
	if r.Activated != nil {
		after, upTo = r.Activated.Time, min(r.ExpiresAt, t.now)
	}
	first, lastDay := layout.days(after, upTo)
	from := ""
	if bookmark != "" {
		day, ok := layout.bookmarkDay(r.ID, bookmark, first, lastDay)
		if !ok {
			return "", errf("bookmark %q is not from this query", bookmark)
		}
		first, from = day, bookmark+"\x00"
	}
	page := &Page[UsageRecord]{Items: []UsageRecord{}}
	last := ""
	full := errors.New("page full")
	for d := first; d <= lastDay && upTo > after; d++ {
		lo, hi := layout.resourceRange(r.ID, d, after+1, upTo)
		if from > lo {
			lo = from
		}
		err := scanAll(t, lo, hi, func(k string, v []byte) error {
			if len(page.Items) >= n {
				page.Bookmark = last
				return full
			}
			recs, err := decodePeriod(k, v)
			if err != nil {
				return corrupt(k, err)
			}
			page.Items = append(page.Items, recs...)
			last = k
			return nil
		})
		if err == full {
			break
		} else if err != nil {
			return "", err
		}
	}
	page.Count = len(page.Items)
	return out(page)
}

// bookmarkDay checks that bookmark is a key of resource's usage (a
// UsageList bookmark) in days [first, last], and returns its day.
func (l usageLayout) bookmarkDay(resource, bookmark string, first, last int64) (int64, bool) {
	if l == usageByResource {
		pfx := key(pfxUsage, resource) + "/"
		return 0, strings.HasPrefix(bookmark, pfx)
	}
	rest, ok := strings.CutPrefix(bookmark, pfxUsageDay)
	ds, rest, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || len(ds) != 7 || !strings.HasPrefix(rest, resource+"/") {
		return 0, false
	}
	d, err := strconv.ParseInt(ds, 10, 64)
	if err != nil || d < first || d > last {
		return 0, false
	}
	return d, true
}
