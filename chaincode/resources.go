package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

const secondsPerDay = 86400

// ResourceRequest asks provider for a resource for the calling consumer org:
// its type (from the catalog), spec (a JSON object of integer sizes, each a
// spec field of the type), holding days, and optional attributes (a JSON
// object of short strings). id may be empty: the contract then derives one
// from the transaction ID. The spec must fit in the remaining quota, days in
// the quota's max_days, and the provider must have a price for the type in
// force. Any identity of the consumer org.
func (c *Contract) ResourceRequest(ctx contractapi.TransactionContextInterface, id, provider, resourceType, spec, days, attributes string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("request resources")
	if err != nil {
		return "", err
	}
	if id == "" {
		sum := sha256.Sum256([]byte(t.id))
		id = "r-" + hex.EncodeToString(sum[:8])
	}
	if err := checkID("id", id); err != nil {
		return "", err
	}
	if err := checkOrg("provider", provider); err != nil {
		return "", err
	}
	if provider == t.msp {
		return "", errf("provider %s is the caller's own org; a consumer requests from another member", provider)
	}
	if !contains(cons.Members, provider) {
		return "", errf("provider %s is not a member of the consortium", provider)
	}
	td, err := cons.knownType("resource_type", resourceType)
	if err != nil {
		return "", err
	}
	sp, err := parseIntMap("spec", spec, false)
	if err != nil {
		return "", err
	}
	for _, k := range sortedKeys(sp) {
		if !contains(td.Spec, k) {
			return "", errf("spec field %s is not defined for type %s (defined: %s)", k, resourceType, strings.Join(td.Spec, ", "))
		}
	}
	d, err := parseInt("days", days, 1, maxDays)
	if err != nil {
		return "", err
	}
	attrs, err := parseStringMap("attributes", attributes)
	if err != nil {
		return "", err
	}
	if ok, err := t.exists(key(pfxResource, id)); err != nil {
		return "", err
	} else if ok {
		return "", errf("id %s is already taken by another resource", id)
	}
	q, freed, err := t.quota(provider, t.msp)
	if err != nil {
		return "", err
	}
	if max, ok := q.Limits["max_days"]; ok && d > max {
		return "", errf("days %d exceeds the quota: %s allows %s at most %d days per resource", d, provider, t.msp, max)
	}
	for _, k := range sortedKeys(sp) {
		limit, ok := q.Limits[k]
		if !ok {
			if sp[k] == 0 {
				continue
			}
			return "", errf("spec field %s has no limit in the quota %s granted %s, so none can be requested", k, provider, t.msp)
		}
		used, err := addChecked("quota use of "+k, q.Used[k], sp[k])
		if err != nil {
			return "", err
		}
		if used > limit {
			return "", errf("spec field %s of %d exceeds the remaining quota: %s granted %s %d and %d are held", k, sp[k], provider, t.msp, limit, q.Used[k])
		}
		q.Used[k] = used
	}
	if _, err := t.priceAt(provider, resourceType, t.now); err != nil {
		return "", err
	}
	r := &Resource{
		ID: id, Type: resourceType, Provider: provider, Consumer: t.msp, Spec: sp, Attributes: attrs, Days: d,
		Status: StatusRequested, RequestedBy: t.actor(), Requested: t.stamp(),
	}
	if err := t.saveQuota(q, freed); err != nil {
		return "", err
	}
	if err := t.saveResource(r, true); err != nil {
		return "", err
	}
	return out(r)
}

func (t *txn) saveResource(r *Resource, fresh bool) error {
	if err := t.putJSON(key(pfxResource, r.ID), r); err != nil {
		return err
	}
	if !fresh {
		return nil
	}
	if err := t.put(key(pfxResProvider, r.Provider, r.ID), []byte(r.Consumer)); err != nil {
		return err
	}
	return t.put(key(pfxResConsumer, r.Consumer, r.ID), []byte(r.Provider))
}

func (t *txn) loadResource(id string) (*Resource, error) {
	if err := checkID("resource_id", id); err != nil {
		return nil, err
	}
	var r Resource
	ok, err := t.getJSON(key(pfxResource, id), &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errf("resource_id %s names no resource", id)
	}
	return &r, nil
}

// ResourceActivate records that the provider has provisioned a requested
// resource: holding (and billing) starts now. Any identity of the provider.
func (c *Contract) ResourceActivate(ctx contractapi.TransactionContextInterface, resourceID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("activate resources"); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if t.msp != r.Provider {
		return "", errf("only identities of %s, the provider of resource %s, may activate it; the caller is %s", r.Provider, r.ID, t.role())
	}
	if r.Status != StatusRequested {
		return "", errf("resource %s is %s; only a requested resource can be activated", r.ID, r.Status)
	}
	s := t.stamp()
	r.Status, r.Activated, r.BilledTo = StatusActive, &s, t.now
	r.ExpiresAt = t.now + r.Days*secondsPerDay
	if err := t.saveResource(r, false); err != nil {
		return "", err
	}
	return out(r)
}

// releaseResult is what ResourceRelease returns.
type releaseResult struct {
	Resource *Resource `json:"resource"`
	Bill     *Bill     `json:"bill,omitempty"`
}

// ResourceRelease ends a resource's holding and returns its quota. An active
// resource is billed for the period since its last bill, with the rule active
// for its type now; a failing rule fails the release and writes nothing. A
// requested (never activated) resource is released without a bill. Any
// identity of the consumer or the provider.
func (c *Contract) ResourceRelease(ctx contractapi.TransactionContextInterface, resourceID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("release resources"); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if t.msp != r.Provider && t.msp != r.Consumer {
		return "", errf("only identities of %s (consumer) or %s (provider) may release resource %s; the caller is %s", r.Consumer, r.Provider, r.ID, t.role())
	}
	t.batchWrites() // the bill, its indexes, the quota return and the resource: one message to the peer
	res := releaseResult{Resource: r}
	switch r.Status {
	case StatusReleased:
		return "", errf("resource %s was already released in transaction %s", r.ID, r.Released.Tx)
	case StatusActive:
		if t.now > r.BilledTo {
			if res.Bill, err = c.issueBill(t, r, t.now, "release"); err != nil {
				return "", err
			}
		}
	}
	// The quota is returned in a key of this resource's own, not by writing
	// the quota: concurrent releases between two orgs do not conflict.
	// quota() folds it in.
	if err := t.putJSON(key(pfxQuotaFree, r.Provider, r.Consumer, r.ID), r.Spec); err != nil {
		return "", err
	}
	s := t.stamp()
	r.Status, r.Released = StatusReleased, &s
	if err := t.saveResource(r, false); err != nil {
		return "", err
	}
	if err := t.flushWrites(); err != nil {
		return "", err
	}
	return out(res)
}

// ResourceGet returns a resource. Its provider and consumer only.
func (c *Contract) ResourceGet(ctx contractapi.TransactionContextInterface, resourceID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read resources"); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if err := t.party("resource "+r.ID, r.Provider, r.Consumer); err != nil {
		return "", err
	}
	return out(r)
}

// ResourceList lists the calling org's resources as "provider" or
// "consumer" (role), optionally only those with status, a page at a time.
func (c *Contract) ResourceList(ctx contractapi.TransactionContextInterface, role, status, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("list resources"); err != nil {
		return "", err
	}
	var pfx string
	switch role {
	case "provider":
		pfx = key(pfxResProvider, t.msp) + "/"
	case "consumer":
		pfx = key(pfxResConsumer, t.msp) + "/"
	default:
		return "", errf("role %q is not valid: it must be provider or consumer", role)
	}
	if status != "" && status != StatusRequested && status != StatusActive && status != StatusReleased {
		return "", errf("status %q is not valid: it must be empty, requested, active or released", status)
	}
	page, err := scanPage(t, pfx, prefixEnd(pfx), pageSize, bookmark, func(k string, v []byte) (*Resource, bool, error) {
		r, err := t.loadResource(strings.TrimPrefix(k, pfx))
		if err != nil {
			return nil, false, err
		}
		return r, status == "" || r.Status == status, nil
	})
	if err != nil {
		return "", err
	}
	return out(page)
}

// ---- usage ----

// usageArg is one record of UsageSubmit's argument.
type usageArg struct {
	ID       string          `json:"id"`
	Resource string          `json:"resource"`
	Metric   string          `json:"metric"`
	Quantity json.RawMessage `json:"quantity"`
	Start    json.RawMessage `json:"start"`
	End      json.RawMessage `json:"end"`
}

// UsageSubmit records a batch of usage records, a JSON array of
// {"id","resource","metric","quantity","start","end"} (times in Unix
// seconds). Each record's ID is unique per provider: resubmitting an ID with
// the same content is a no-op (reported under duplicates); with different
// content it is refused. Each record must be for an active resource of the
// calling provider, for a metric its type defines, with a non-negative
// integer quantity, over a period inside the allocation (from activation to
// expiry, not in the future) that ends after the resource's last bill. The
// batch is all or nothing. Any identity of the provider org.
func (c *Contract) UsageSubmit(ctx contractapi.TransactionContextInterface, records string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("submit usage")
	if err != nil {
		return "", err
	}
	var args []usageArg
	if err := decodeJSON("records", records, &args); err != nil {
		return "", err
	}
	if len(args) == 0 {
		return "", errf("records must hold at least one record")
	}
	if len(args) > maxUsageBatch {
		return "", errf("records holds %d records; at most %d are allowed per batch", len(args), maxUsageBatch)
	}
	// Every record's dedupe marker in one round trip to the peer, and the
	// writes sent together at the end, instead of three round trips per
	// record (chaincode/README.md, "Usage throughput").
	var markerKeys []string
	wanted := map[string]bool{}
	for _, a := range args {
		if checkID("id", a.ID) != nil {
			continue
		}
		if k := key(pfxUsageID, t.msp, a.ID); !wanted[k] {
			wanted[k] = true
			markerKeys = append(markerKeys, k)
		}
	}
	markers, err := t.prefetch(markerKeys)
	if err != nil {
		return "", err
	}
	t.batchWrites()
	res := UsageResult{Accepted: []string{}, Duplicates: []string{}}
	resources := map[string]*Resource{}
	inBatch := map[string]string{}
	for i, a := range args {
		f := func(name string) string { return "records[" + itoa(i) + "]." + name }
		if err := checkID(f("id"), a.ID); err != nil {
			return "", err
		}
		r := resources[a.Resource]
		if r == nil {
			if r, err = t.loadResource(a.Resource); err != nil {
				return "", errf("%s: %v", f("resource"), err)
			}
			resources[a.Resource] = r
		}
		if r.Provider != t.msp {
			return "", errf("%s: resource %s is provided by %s; only identities of %s may submit its usage, not %s", f("resource"), r.ID, r.Provider, r.Provider, t.msp)
		}
		rec := UsageRecord{ID: a.ID, Resource: r.ID, Metric: a.Metric}
		td := cons.typeDef(r.Type)
		if err := checkField(f("metric"), a.Metric); err != nil {
			return "", err
		}
		if td == nil || !contains(td.Metrics, a.Metric) {
			defined := "none"
			if td != nil && len(td.Metrics) > 0 {
				defined = strings.Join(td.Metrics, ", ")
			}
			return "", errf("%s %s is not a metric of type %s (defined: %s)", f("metric"), a.Metric, r.Type, defined)
		}
		for _, p := range []struct {
			name string
			raw  json.RawMessage
			dst  *int64
		}{{"quantity", a.Quantity, &rec.Quantity}, {"start", a.Start, &rec.Start}, {"end", a.End, &rec.End}} {
			if p.raw == nil {
				return "", errf("%s is required", f(p.name))
			}
			v, err := jsonInt(f(p.name), p.raw)
			if err != nil {
				return "", err
			}
			if v < 0 {
				return "", errf("%s must not be negative, got %d", f(p.name), v)
			}
			*p.dst = v
		}
		if rec.End <= rec.Start {
			return "", errf("%s %d must be after %s %d", f("end"), rec.End, f("start"), rec.Start)
		}
		b, _ := json.Marshal(rec)
		sum := sha256.Sum256(b)
		digest := hex.EncodeToString(sum[:])
		if prev, ok := inBatch[rec.ID]; ok {
			if prev != digest {
				return "", errf("%s %s appears twice in the batch with different content", f("id"), rec.ID)
			}
			res.Duplicates = append(res.Duplicates, rec.ID)
			continue
		}
		inBatch[rec.ID] = digest
		var seen usageSeen
		mk := key(pfxUsageID, t.msp, rec.ID)
		if ok, err := decodeStored(mk, markers[mk], &seen); err != nil {
			return "", err
		} else if ok {
			if seen.Digest != digest {
				return "", errf("%s %s was already submitted (transaction %s) with different content; a record ID cannot be reused", f("id"), rec.ID, seen.Tx)
			}
			res.Duplicates = append(res.Duplicates, rec.ID)
			continue
		}
		switch r.Status {
		case StatusRequested:
			return "", errf("%s: resource %s is not active yet; usage starts at activation", f("resource"), r.ID)
		case StatusReleased:
			return "", errf("%s: resource %s was released; its usage is closed", f("resource"), r.ID)
		}
		if rec.Start < r.Activated.Time {
			return "", errf("%s %d is before resource %s was activated (%d)", f("start"), rec.Start, r.ID, r.Activated.Time)
		}
		if rec.End > r.ExpiresAt {
			return "", errf("%s %d is after resource %s's allocation expires (%d)", f("end"), rec.End, r.ID, r.ExpiresAt)
		}
		if rec.End > t.now {
			return "", errf("%s %d is in the future (transaction time %d)", f("end"), rec.End, t.now)
		}
		if rec.End <= r.BilledTo {
			return "", errf("%s %d is not after the end of resource %s's last bill (%d); billed periods are closed", f("end"), rec.End, r.ID, r.BilledTo)
		}
		if err := t.put(key(pfxUsage, r.ID, pad(rec.End), rec.ID), b); err != nil {
			return "", err
		}
		if err := t.putJSON(key(pfxUsageID, t.msp, rec.ID), usageSeen{Resource: r.ID, Digest: digest, Stamp: t.stamp()}); err != nil {
			return "", err
		}
		res.Accepted = append(res.Accepted, rec.ID)
	}
	if err := t.flushWrites(); err != nil {
		return "", err
	}
	return out(res)
}

// UsageList lists a resource's usage records by end time, a page at a time.
// Its provider and consumer only.
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
	pfx := key(pfxUsage, r.ID) + "/"
	page, err := scanPage(t, pfx, prefixEnd(pfx), pageSize, bookmark, func(k string, v []byte) (*UsageRecord, bool, error) {
		var u UsageRecord
		return &u, true, json.Unmarshal(v, &u)
	})
	if err != nil {
		return "", err
	}
	return out(page)
}

func itoa(i int) string { return strconv.Itoa(i) }
