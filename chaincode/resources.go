package chaincode

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
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
	if id == "" {
		id = derivedResourceID(t.id)
	}
	if err := checkID("id", id); err != nil {
		return "", err
	}
	rs, err := t.request([]string{id}, provider, resourceType, spec, days, attributes)
	if err != nil {
		return "", err
	}
	return out(rs[0])
}

// derivedResourceID is the ID of a resource requested without one: "r-"
// and 16 hex digits of the SHA-256 of seed (the transaction ID, and for
// ResourceRequestMany the position in ids too).
func derivedResourceID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "r-" + hex.EncodeToString(sum[:8])
}

// maxRequestBatch bounds ResourceRequestMany.
const maxRequestBatch = 100

// ResourceRequestMany requests several resources of one type, spec, days
// and attributes from provider in one transaction, as ResourceRequest does
// one: ids is a JSON array of 1 to 100 distinct IDs, where "" derives one
// from the transaction ID and its position. The quota must hold them all;
// the request is all or nothing. A cluster of servers is one transaction,
// and the quota is read and written once: on Fabric, requests of one
// consumer from one provider update the same quota key, so separate ones
// commit one per block. Returns the resources in the order of ids. Any
// identity of the consumer org.
func (c *Contract) ResourceRequestMany(ctx contractapi.TransactionContextInterface, ids, provider, resourceType, spec, days, attributes string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	var list []string
	if err := decodeJSON("ids", ids, &list); err != nil {
		return "", err
	}
	if len(list) == 0 || len(list) > maxRequestBatch {
		return "", errf("ids must hold 1 to %d IDs, got %d", maxRequestBatch, len(list))
	}
	seen := make(map[string]int, len(list))
	for i, id := range list {
		f := "ids[" + itoa(i) + "]"
		if id == "" {
			id = derivedResourceID(t.id + "/" + itoa(i))
			list[i] = id
		}
		if err := checkID(f, id); err != nil {
			return "", err
		}
		if j, dup := seen[id]; dup {
			return "", errf("%s %s is also ids[%d]; each resource needs its own ID", f, id, j)
		}
		seen[id] = i
	}
	rs, err := t.request(list, provider, resourceType, spec, days, attributes)
	if err != nil {
		return "", err
	}
	return out(rs)
}

// request creates one requested resource per ID (checked, distinct), all
// of one type, spec, days and attributes, against the caller's quota at
// provider, which must hold them all.
func (t *txn) request(ids []string, provider, resourceType, spec, days, attributes string) ([]*Resource, error) {
	cons, err := t.member("request resources")
	if err != nil {
		return nil, err
	}
	if err := checkOrg("provider", provider); err != nil {
		return nil, err
	}
	if provider == t.msp {
		return nil, errf("provider %s is the caller's own org; a consumer requests from another member", provider)
	}
	if !slices.Contains(cons.Members, provider) {
		return nil, errf("provider %s is not a member of the consortium", provider)
	}
	td, err := knownType(cons, "resource_type", resourceType)
	if err != nil {
		return nil, err
	}
	sp, err := parseIntMap("spec", spec, false)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(sp)) {
		if !slices.Contains(td.Spec, k) {
			return nil, errf("spec field %s is not defined for type %s (defined: %s)", k, resourceType, strings.Join(td.Spec, ", "))
		}
	}
	// A resource of no size would hold quota for nothing and bill nothing:
	// a request without its spec is a mistake, not a request.
	if len(sp) == 0 && len(td.Spec) > 0 {
		return nil, errf("spec is empty: a %s resource names its size in at least one of %s", resourceType, strings.Join(td.Spec, ", "))
	}
	d, err := parseInt("days", days, 1, maxDays)
	if err != nil {
		return nil, err
	}
	attrs, err := parseStringMap("attributes", attributes)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(pfxResource, id)
	}
	held, err := t.prefetch(keys)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if held[key(pfxResource, id)] != nil {
			return nil, conflict("id %s is already taken by another resource", id)
		}
	}
	q, freed, err := t.quota(provider, t.msp)
	if err != nil {
		return nil, err
	}
	if err := quotaInForce(q, t.now); err != nil {
		return nil, err
	}
	if max, ok := q.Limits["max_days"]; ok && d > max {
		return nil, overQuota("days %d exceeds the quota: %s allows %s at most %d days per resource", d, provider, t.msp, max)
	}
	n := int64(len(ids))
	for _, k := range slices.Sorted(maps.Keys(sp)) {
		limit, ok := q.Limits[k]
		if !ok {
			if sp[k] == 0 {
				continue
			}
			return nil, overQuota("spec field %s has no limit in the quota %s granted %s, so none can be requested", k, provider, t.msp)
		}
		used := q.Used[k]
		for range n {
			if used, err = addChecked("quota use of "+k, used, sp[k]); err != nil {
				return nil, err
			}
		}
		if used > limit {
			if n == 1 {
				return nil, overQuota("spec field %s of %d exceeds the remaining quota: %s granted %s %d and %d are held", k, sp[k], provider, t.msp, limit, q.Used[k])
			}
			return nil, overQuota("spec field %s of %d for each of %d resources exceeds the remaining quota: %s granted %s %d and %d are held", k, sp[k], n, provider, t.msp, limit, q.Used[k])
		}
		q.Used[k] = used
	}
	price, err := t.priceAt(provider, resourceType, t.now)
	if err != nil {
		return nil, err
	}
	if err := t.allocationStop(provider, t.msp, price); err != nil {
		return nil, err
	}
	if err := t.saveQuota(q, freed); err != nil {
		return nil, err
	}
	rs := make([]*Resource, len(ids))
	for i, id := range ids {
		rs[i] = &Resource{
			ID: id, Type: resourceType, Provider: provider, Consumer: t.msp, Spec: sp, Attributes: attrs, Days: d,
			Status: StatusRequested, RequestedBy: t.actor(), Requested: t.stamp(),
		}
		if err := t.saveResource(rs[i], true); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// A resource is stored in two keys: resource/<id> holds what is fixed when
// it is requested (resourceFixed), resource-state/<id> what changes after
// (resourceState). An activation, a bill and a release rewrite only the
// state, ~290 bytes instead of the whole ~800-byte resource (the
// requester's X.509 name, the spec and the attributes), and every byte a
// transaction writes is carried by three orderers and stored by six peers.
// UsageSubmit reads only the state, which repeats the provider and the type
// for it. ResourceGet and the API see one Resource.

// resourceFixed is the part of a Resource fixed at request.
type resourceFixed struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Provider    string            `json:"provider"`
	Consumer    string            `json:"consumer"`
	Spec        map[string]int64  `json:"spec"`
	Attributes  map[string]string `json:"attributes"`
	Days        int64             `json:"days"`
	RequestedBy Actor             `json:"requested_by"`
	Requested   Stamp             `json:"requested"`
}

// resourceState is the part of a Resource that changes after the request,
// with the provider and the type (usageResource decodes it).
type resourceState struct {
	Provider  string       `json:"provider"`
	Type      string       `json:"type"`
	Status    string       `json:"status"`
	Activated *Stamp       `json:"activated,omitempty"`
	ExpiresAt int64        `json:"expires_at,omitempty"`
	Released  *Stamp       `json:"released,omitempty"`
	BilledTo  int64        `json:"billed_to,omitempty"`
	Bills     int          `json:"bills"`
	Pending   *PendingBill `json:"pending_bill,omitempty"`
}

// pendingEvent is the BillPending event of a release whose rule failed.
type pendingEvent struct {
	Resource string `json:"resource"`
	Provider string `json:"provider"`
	Consumer string `json:"consumer"`
	Type     string `json:"type"`
	PendingBill
}

// resourceKeys are the two keys of resource id, for readAhead.
func resourceKeys(id string) []string {
	return []string{key(pfxResource, id), key(pfxResState, id)}
}

// saveResource writes r's state and, for a fresh resource, its fixed part
// and the indexes by provider and consumer.
func (t *txn) saveResource(r *Resource, fresh bool) error {
	st := resourceState{Provider: r.Provider, Type: r.Type, Status: r.Status, Activated: r.Activated,
		ExpiresAt: r.ExpiresAt, Released: r.Released, BilledTo: r.BilledTo, Bills: r.Bills, Pending: r.Pending}
	if err := t.putJSON(key(pfxResState, r.ID), st); err != nil {
		return err
	}
	if !fresh {
		return nil
	}
	fixed := resourceFixed{ID: r.ID, Type: r.Type, Provider: r.Provider, Consumer: r.Consumer, Spec: r.Spec,
		Attributes: r.Attributes, Days: r.Days, RequestedBy: r.RequestedBy, Requested: r.Requested}
	if err := t.putJSON(key(pfxResource, r.ID), fixed); err != nil {
		return err
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
	if _, ok := t.read[key(pfxResource, id)]; !ok {
		if err := t.readAhead(resourceKeys(id)...); err != nil {
			return nil, err
		}
	}
	var f resourceFixed
	ok, err := t.getJSON(key(pfxResource, id), &f)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("resource_id %s names no resource", id)
	}
	var st resourceState
	if ok, err := t.getJSON(key(pfxResState, id), &st); err != nil {
		return nil, err
	} else if !ok {
		return nil, ledgerf("the state of resource %s is missing from the ledger (%s)", id, key(pfxResState, id))
	}
	return &Resource{ID: f.ID, Type: f.Type, Provider: f.Provider, Consumer: f.Consumer, Spec: f.Spec,
		Attributes: f.Attributes, Days: f.Days, Status: st.Status, RequestedBy: f.RequestedBy,
		Requested: f.Requested, Activated: st.Activated, ExpiresAt: st.ExpiresAt, Released: st.Released,
		BilledTo: st.BilledTo, Bills: st.Bills, Pending: st.Pending}, nil
}

// ResourceActivate records that the provider has provisioned a requested
// resource: holding (and billing) starts now. Any identity of the provider.
func (c *Contract) ResourceActivate(ctx contractapi.TransactionContextInterface, resourceID string) (string, error) {
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
	if _, err := t.member("activate resources"); err != nil {
		return "", err
	}
	r, err := t.loadResource(resourceID)
	if err != nil {
		return "", err
	}
	if t.msp != r.Provider {
		return "", denied("only identities of %s, the provider of resource %s, may activate it; the caller is %s", r.Provider, r.ID, t.role())
	}
	if r.Status != StatusRequested {
		return "", conflict("resource %s is %s; only a requested resource can be activated", r.ID, r.Status)
	}
	s := t.stamp()
	r.Status, r.Activated, r.BilledTo = StatusActive, &s, t.now
	r.ExpiresAt = t.now + r.Days*secondsPerDay
	if err := t.saveResource(r, false); err != nil {
		return "", err
	}
	return out(r)
}

// releaseResult is what ResourceRelease returns: the resource's new status
// rather than the whole resource (ResourceGet has it), and its bill's
// summary rather than the bill (BillGet has it). A result travels in the
// transaction to every orderer and peer; the resource and the bill would
// add ~1,550 bytes to each release.
type releaseResult = model.ReleaseResult

// ResourceRelease ends a resource's holding and returns its quota. An active
// resource is billed for the period since its last bill, with the rule active
// for its type now (the result has the bill's summary; BillGet reads the
// bill); a failing rule fails the release and writes nothing. A
// requested (never activated) resource is released without a bill. Any
// identity of the consumer or the provider.
func (c *Contract) ResourceRelease(ctx contractapi.TransactionContextInterface, resourceID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if err := checkID("resource_id", resourceID); err != nil {
		return "", err
	}
	// Reads in three messages to the peer instead of eight: the consortium
	// with the resource's two keys, then what billing reads (billingKeys:
	// the activations name the rule), then the usage range.
	if err := t.readAhead(append(resourceKeys(resourceID), keyConsortium)...); err != nil {
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
		return "", denied("only identities of %s (consumer) or %s (provider) may release resource %s; the caller is %s", r.Consumer, r.Provider, r.ID, t.role())
	}
	if r.Status == StatusActive && t.now > r.BilledTo {
		if err := t.readAhead(billingKeys(r)...); err != nil {
			return "", err
		}
	}
	t.batchWrites() // the bill, its indexes, the quota return and the resource: one message to the peer
	var res releaseResult
	switch r.Status {
	case StatusReleased:
		return "", conflict("resource %s was already released in transaction %s", r.ID, r.Released.Tx)
	case StatusActive:
		// Billing stops at the allocation's expiry, as usage does; the
		// time held after it is flagged, not billed.
		end := t.now
		if r.ExpiresAt > 0 && end > r.ExpiresAt {
			res.Overrun, end = end-r.ExpiresAt, r.ExpiresAt
		}
		if end > r.BilledTo {
			b, err := c.issueBill(t, r, end, end, model.BillKindRelease, res.Overrun)
			switch {
			case err == nil:
				res.Bill = b.Summary()
			case model.CodeOf(err) == model.CodeRuleFailed || errors.Is(err, model.ErrUsageOverflow):
				// A failing rule must not hold the resource and its
				// quota for ever: the release goes through and the
				// bill waits for a working rule (BillClose). So does
				// usage whose sum no rule input can hold.
				r.Pending = &PendingBill{Start: r.BilledTo, End: end, Reason: model.MessageOf(err), Tx: t.id, Overrun: res.Overrun}
				res.Pending = r.Pending
				if err := t.setEvent("BillPending", pendingEvent{Resource: r.ID, Provider: r.Provider, Consumer: r.Consumer,
					Type: r.Type, PendingBill: *r.Pending}); err != nil {
					return "", err
				}
			default:
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
	// No usage is accepted for a released resource, so its usage totals
	// (usage-total/, the overflow check's running sums) are never read
	// again: deleted, not left behind for every resource ever released.
	if err := t.stub.DelState(key(pfxUsageTotal, r.ID)); err != nil {
		return "", ledgerf("deleting %s failed: %v", key(pfxUsageTotal, r.ID), err)
	}
	s := t.stamp()
	r.Status, r.Released = StatusReleased, &s
	if err := t.saveResource(r, false); err != nil {
		return "", err
	}
	if err := t.flushWrites(); err != nil {
		return "", err
	}
	res.Resource = ReleasedResource{ID: r.ID, Status: r.Status, Released: r.Released}
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

func itoa(i int) string { return strconv.Itoa(i) }
