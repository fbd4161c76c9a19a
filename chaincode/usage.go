package chaincode

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

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

// reDerivedID is the form of derived record IDs, reserved for them: a record
// whose ID has this form must carry the ID its content derives.
var reDerivedID = regexp.MustCompile(`^u-[0-9a-f]{40}$`)

// DeriveUsageID is the ID of a record submitted without one: "u-" and 40
// hex digits of the SHA-256 of its resource, metric, start and end. The
// quantity is left out on purpose: a corrected quantity for the same period
// keeps the ID, and the contract refuses it instead of counting it twice.
func DeriveUsageID(u UsageRecord) string {
	b := make([]byte, 0, len(u.Resource)+len(u.Metric)+44)
	b = append(append(b, u.Resource...), '\n')
	b = append(append(b, u.Metric...), '\n')
	b = append(strconv.AppendInt(b, u.Start, 10), '\n')
	b = strconv.AppendInt(b, u.End, 10)
	sum := sha256.Sum256(b) // of "resource\nmetric\nstart\nend"
	return "u-" + hex.EncodeToString(sum[:20])
}

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
		return nil, fmt.Errorf("%s is not a usage key", k)
	}
	var end, start int64
	if _, err := fmt.Sscanf(parts[1]+" "+parts[2], "%d %d", &end, &start); err != nil {
		return nil, fmt.Errorf("%s is not a usage key: %v", k, err)
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

// usageArg is one element of UsageSubmit's argument: a record, or a period
// row (metrics set) that expandUsage turns into one record per metric.
type usageArg struct {
	ID       string          `json:"id"`
	Resource string          `json:"resource"`
	Metric   string          `json:"metric"`
	Quantity json.RawMessage `json:"quantity"`
	Start    json.RawMessage `json:"start"`
	End      json.RawMessage `json:"end"`

	// A period table's columns and rows (expandTable).
	Metrics []string            `json:"metrics"`
	Rows    [][]json.RawMessage `json:"rows"`

	metrics map[string]json.RawMessage // a period row's {metric: quantity}
	table   bool                       // a period table: Start, End, Metrics, Rows
	label   string                     // how errors name it: records[i], records[i]["<metric>"] in a period row, records[i].rows[j]["<metric>"] in a table
}

// expandUsage turns UsageSubmit's argument into one usageArg per record:
// a period row becomes a record for each of its metrics, in metric order
// (never map order: every endorser must build the same batch), and a period
// table a record for each metric of each row, row by row in the table's
// metric order.
func expandUsage(args []usageArg) ([]usageArg, error) {
	n := 0
	for _, a := range args {
		switch {
		case a.table:
			n += len(a.Rows) * len(a.Metrics)
		case a.metrics != nil:
			n += len(a.metrics)
		default:
			n++
		}
	}
	if n > maxUsageBatch { // before expanding: a table multiplies
		return nil, errf("records holds %d records; at most %d are allowed per batch", n, maxUsageBatch)
	}
	out := make([]usageArg, 0, n)
	for i, a := range args {
		label := "records[" + itoa(i) + "]"
		if a.table {
			rows, err := expandTable(a, label)
			if err != nil {
				return nil, err
			}
			out = append(out, rows...)
			continue
		}
		if a.metrics == nil {
			a.label = label
			out = append(out, a)
			continue
		}
		if len(a.metrics) == 0 {
			return nil, errf("%s is a period row without metrics; its fourth element is {\"<metric>\": quantity, ...} with at least one", label)
		}
		for _, m := range sortedKeys(a.metrics) {
			out = append(out, usageArg{Resource: a.Resource, Metric: m, Quantity: a.metrics[m], Start: a.Start, End: a.End, label: label + `["` + m + `"]`})
		}
	}
	return out, nil
}

// expandTable turns a period table into its records: row by row, each
// row's quantities in the order of the table's metrics.
func expandTable(a usageArg, label string) ([]usageArg, error) {
	if len(a.Metrics) == 0 {
		return nil, errf("%s.metrics must name at least one metric", label)
	}
	seen := make(map[string]bool, len(a.Metrics))
	for _, m := range a.Metrics {
		if seen[m] {
			return nil, errf("%s.metrics names %s twice", label, m)
		}
		seen[m] = true
	}
	if len(a.Rows) == 0 {
		return nil, errf("%s.rows must hold at least one row [resource, quantity, ...]", label)
	}
	out := make([]usageArg, 0, len(a.Rows)*len(a.Metrics))
	for j, row := range a.Rows {
		rl := label + ".rows[" + itoa(j) + "]"
		if len(row) != 1+len(a.Metrics) {
			return nil, errf("%s has %d elements; a row of this table is [resource, %s] (%d elements)", rl, len(row), strings.Join(a.Metrics, ", "), 1+len(a.Metrics))
		}
		var res string
		if err := json.Unmarshal(row[0], &res); err != nil {
			return nil, errf("%s's first element, the resource, must be a string, got %s", rl, row[0])
		}
		for k, m := range a.Metrics {
			out = append(out, usageArg{Resource: res, Metric: m, Quantity: row[1+k], Start: a.Start, End: a.End, label: rl + `["` + m + `"]`})
		}
	}
	return out, nil
}

// UnmarshalJSON reads an element in any of UsageSubmit's forms: an object
// {"id","resource","metric","quantity","start","end"} (unknown fields
// refused); a row [resource, metric, quantity, start, end] with an optional
// sixth element, the id; or a period row [resource, start, end,
// {"<metric>": quantity, ...}], every metric of a resource over one period,
// IDs derived; or a period table {"start", "end", "metrics": [<metric>,
// ...], "rows": [[resource, quantity, ...], ...]}, the same metrics of
// many resources over one period, IDs derived. Tables and period rows are
// what the CLI sends: a sixth and a third of the bytes of objects, and on
// Fabric every byte of a transaction is carried, checked and stored by
// every orderer and peer.
func (a *usageArg) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		type object usageArg // without this method
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode((*object)(a)); err != nil {
			return err
		}
		if a.Metrics == nil && a.Rows == nil {
			return nil
		}
		if a.ID != "" || a.Resource != "" || a.Metric != "" || a.Quantity != nil {
			return fmt.Errorf("an object is a record {id, resource, metric, quantity, start, end} or a period table {start, end, metrics, rows}, not both")
		}
		a.table = true
		return nil
	}
	var row []json.RawMessage
	if err := json.Unmarshal(b, &row); err != nil {
		return err
	}
	if len(row) == 4 {
		if err := json.Unmarshal(row[0], &a.Resource); err != nil {
			return fmt.Errorf("a period row's resource must be a string, got %s", row[0])
		}
		if t := bytes.TrimSpace(row[3]); len(t) == 0 || t[0] != '{' {
			return fmt.Errorf("a period row's fourth element must be an object {\"<metric>\": quantity, ...}, got %s", row[3])
		}
		if err := json.Unmarshal(row[3], &a.metrics); err != nil {
			return fmt.Errorf("a period row's metrics must be an object of quantities: %v", err)
		}
		if a.metrics == nil {
			a.metrics = map[string]json.RawMessage{}
		}
		a.Start, a.End = row[1], row[2]
		return nil
	}
	if len(row) != 5 && len(row) != 6 {
		return fmt.Errorf("a record row is [resource, metric, quantity, start, end], [resource, metric, quantity, start, end, id] or [resource, start, end, {metric: quantity, ...}], not %d elements", len(row))
	}
	strs := map[int]struct {
		name string
		dst  *string
	}{0: {"resource", &a.Resource}, 1: {"metric", &a.Metric}, 5: {"id", &a.ID}}
	for i, raw := range row {
		if f, ok := strs[i]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return fmt.Errorf("a record row's %s must be a string, got %s", f.name, raw)
			}
		}
	}
	a.Quantity, a.Start, a.End = row[2], row[3], row[4]
	return nil
}

// parsedUsage is a record of the argument after the checks that need no
// state; err is the first of them that failed.
type parsedUsage struct {
	rec     UsageRecord
	derived bool
	key     string // its period's key (usageKey)
	err     error
}

func parseUsageArg(a usageArg) parsedUsage {
	f := func(name string) string { return a.label + "." + name }
	rec := UsageRecord{ID: a.ID, Resource: a.Resource, Metric: a.Metric}
	if a.ID != "" {
		if err := checkID(f("id"), a.ID); err != nil {
			return parsedUsage{err: err}
		}
	}
	if err := checkID(f("resource"), a.Resource); err != nil {
		return parsedUsage{err: err}
	}
	if err := checkField(f("metric"), a.Metric); err != nil {
		return parsedUsage{err: err}
	}
	for _, p := range []struct {
		name string
		raw  json.RawMessage
		dst  *int64
	}{{"quantity", a.Quantity, &rec.Quantity}, {"start", a.Start, &rec.Start}, {"end", a.End, &rec.End}} {
		if p.raw == nil {
			return parsedUsage{err: errf("%s is required", f(p.name))}
		}
		v, err := jsonInt(f(p.name), p.raw)
		if err != nil {
			return parsedUsage{err: err}
		}
		if v < 0 {
			return parsedUsage{err: errf("%s must not be negative, got %d", f(p.name), v)}
		}
		*p.dst = v
	}
	if rec.End <= rec.Start {
		return parsedUsage{err: errf("%s %d must be after %s %d", f("end"), rec.End, f("start"), rec.Start)}
	}
	if rec.End >= maxUsageTime {
		return parsedUsage{err: errf("%s %d is not a time fedmeter stores: usage times are Unix seconds below %d (the year 5138)", f("end"), rec.End, int64(maxUsageTime))}
	}
	derived := DeriveUsageID(rec)
	switch {
	case rec.ID == "":
		rec.ID = derived
	case reDerivedID.MatchString(rec.ID) && rec.ID != derived:
		return parsedUsage{err: errf("%s %s has the form of a derived ID (u- and 40 hex digits) but is not the one this record derives (%s); leave id out to have it derived, or choose an ID of another form", f("id"), rec.ID, derived)}
	}
	return parsedUsage{rec: rec, derived: rec.ID == derived, key: usageKey(rec.Resource, rec.Start, rec.End)}
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
	var rows []usageArg
	if err := decodeJSON("records", records, &rows); err != nil {
		return "", err
	}
	args, err := expandUsage(rows)
	if err != nil {
		return "", err
	}
	if len(args) == 0 {
		return "", errf("records must hold at least one record")
	}
	if len(args) > maxUsageBatch {
		return "", errf("records holds %d records; at most %d are allowed per batch", len(args), maxUsageBatch)
	}
	// Parse everything first, then read every resource, period and marker
	// the batch touches in one round trip to the peer, and send the writes
	// together at the end (chaincode/README.md, "Usage throughput").
	parsed := make([]parsedUsage, len(args))
	var keys []string
	wanted := map[string]bool{}
	want := func(k string) {
		if !wanted[k] {
			wanted[k] = true
			keys = append(keys, k)
		}
	}
	for i, a := range args {
		p := parseUsageArg(a)
		parsed[i] = p
		if p.err != nil {
			continue
		}
		want(key(pfxResState, p.rec.Resource))
		if p.derived {
			want(p.key)
		} else {
			want(key(pfxUsageID, t.msp, p.rec.ID))
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
	for i, p := range parsed {
		f := func(name string) string { return args[i].label + "." + name }
		if p.err != nil {
			return "", p.err
		}
		rec := p.rec
		r := resources[rec.Resource]
		if r == nil {
			k := key(pfxResState, rec.Resource)
			var ok bool
			if r, ok, err = decodeUsageResource(k, state[k]); err != nil {
				return "", err
			} else if !ok {
				return "", errf("%s: resource_id %s names no resource", f("resource"), rec.Resource)
			}
			resources[rec.Resource] = r
		}
		if r.Provider != t.msp {
			return "", errf("%s: resource %s is provided by %s; only identities of %s may submit its usage, not %s", f("resource"), rec.Resource, r.Provider, r.Provider, t.msp)
		}
		if td := cons.typeDef(r.Type); td == nil || !contains(td.Metrics, rec.Metric) {
			defined := "none"
			if td != nil && len(td.Metrics) > 0 {
				defined = strings.Join(td.Metrics, ", ")
			}
			return "", errf("%s %s is not a metric of type %s (defined: %s)", f("metric"), rec.Metric, r.Type, defined)
		}
		// What a repeated ID is compared with: for a derived ID only the
		// quantity can differ.
		digest := strconv.FormatInt(rec.Quantity, 10)
		if !p.derived {
			b, _ := json.Marshal(rec)
			sum := sha256.Sum256(b)
			digest = hex.EncodeToString(sum[:])
		}
		if prev, ok := inBatch[rec.ID]; ok {
			if prev != digest {
				return "", errf("%s %s appears twice in the batch with different content", f("id"), rec.ID)
			}
			res.Duplicates = append(res.Duplicates, rec.ID)
			continue
		}
		inBatch[rec.ID] = digest
		// Derived records share their period's key (at most one per
		// metric); records with chosen IDs, which any number may share,
		// go to a key of the period and the transaction, written blind.
		pk := p.key
		if !p.derived {
			pk += "/" + t.id
		}
		entries, ok := periods[pk]
		if !ok {
			if state[pk] != nil {
				var err error
				if entries, err = decodeEntries(pk, state[pk]); err != nil {
					return "", fmt.Errorf("the stored value of %s is corrupt: %v", pk, err)
				}
			}
			loaded[pk] = len(entries)
		}
		if p.derived {
			// The same derived ID can only be a record of this metric in
			// this period's value.
			if prev := findDerived(entries[:loaded[pk]], rec.Metric); prev != nil {
				if prev.Quantity != rec.Quantity {
					return "", errf("%s %s was already submitted with quantity %d, not %d: resource %s's %s over (%d, %d] is recorded; a record cannot be changed", f("id"), rec.ID, prev.Quantity, rec.Quantity, rec.Resource, rec.Metric, rec.Start, rec.End)
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
					return "", errf("%s %s was already submitted (transaction %s) with different content; a record ID cannot be reused", f("id"), rec.ID, seen.Tx)
				}
				res.Duplicates = append(res.Duplicates, rec.ID)
				continue
			}
		}
		switch r.Status {
		case StatusRequested:
			return "", errf("%s: resource %s is not active yet; usage starts at activation", f("resource"), rec.Resource)
		case StatusReleased:
			return "", errf("%s: resource %s was released; its usage is closed", f("resource"), rec.Resource)
		}
		if rec.Start < r.Activated.Time {
			return "", errf("%s %d is before resource %s was activated (%d)", f("start"), rec.Start, rec.Resource, r.Activated.Time)
		}
		if rec.End > r.ExpiresAt {
			return "", errf("%s %d is after resource %s's allocation expires (%d)", f("end"), rec.End, rec.Resource, r.ExpiresAt)
		}
		if rec.End > t.now {
			return "", errf("%s %d is in the future (transaction time %d)", f("end"), rec.End, t.now)
		}
		if rec.End <= r.BilledTo {
			return "", errf("%s %d is not after the end of resource %s's last bill (%d); billed periods are closed", f("end"), rec.End, rec.Resource, r.BilledTo)
		}
		e := usageEntry{Metric: rec.Metric, Quantity: rec.Quantity}
		if !p.derived {
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
			return "", fmt.Errorf("range query failed: %v", err)
		}
		if len(page.Items) >= n {
			page.Bookmark = last
			break
		}
		recs, err := decodePeriod(kv.GetKey(), kv.GetValue())
		if err != nil {
			return "", fmt.Errorf("the stored value of %s is corrupt: %v", kv.GetKey(), err)
		}
		page.Items = append(page.Items, recs...)
		last = kv.GetKey()
	}
	page.Count = len(page.Items)
	return out(page)
}
