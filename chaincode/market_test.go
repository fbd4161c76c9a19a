package chaincode

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPrices(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	for _, c := range []struct{ name, who, typ, prices, eff, want string }{
		{"outsider", "org4.admin", "ecs", ecsPrices, "", "only member orgs may set prices; Org4MSP is not a member"},
		{"non-admin", "org1.user", "ecs", ecsPrices, "", "only admins of member orgs may set prices"},
		{"unknown type", "org1.admin", "vm", ecsPrices, "", `resource_type "vm" is not a resource type of the consortium catalog (known: ecs, obs)`},
		{"not json", "org1.admin", "ecs", "cheap", "", "prices is not valid JSON"},
		{"unknown field", "org1.admin", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"a":1},"tax":1}`, "", `unknown field "tax"`},
		{"bad currency", "org1.admin", "ecs", `{"currency":"yuan","scale":2,"unit_prices":{"a":1}}`, "", `prices.currency "yuan" is not valid`},
		{"no scale", "org1.admin", "ecs", `{"currency":"CNY","unit_prices":{"a":1}}`, "", "prices.scale is required"},
		{"scale range", "org1.admin", "ecs", `{"currency":"CNY","scale":19,"unit_prices":{"a":1}}`, "", "prices.scale must be between 0 and 18"},
		{"no prices", "org1.admin", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{}}`, "", "prices.unit_prices must name at least one"},
		{"fraction", "org1.admin", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":1.5}}`, "", "prices.unit_prices.vcpu_hour must be an integer, got 1.5"},
		{"string", "org1.admin", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":"12"}}`, "", `prices.unit_prices.vcpu_hour must be an integer, got "12"`},
		{"negative", "org1.admin", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":-1}}`, "", "prices.unit_prices.vcpu_hour must not be negative"},
		{"overflow", "org1.admin", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":9223372036854775808}}`, "", "prices.unit_prices.vcpu_hour 9223372036854775808 does not fit in a 64-bit integer"},
		{"bad unit name", "org1.admin", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vCPU":1}}`, "", `prices.unit_prices name "vCPU" is not valid`},
		{"backdated", "org1.admin", "ecs", ecsPrices, "2025-12-31T23:59:59Z", "prices cannot be backdated"},
		{"bad time", "org1.admin", "ecs", ecsPrices, "tomorrow", `effective_from must be Unix seconds or an RFC 3339 time, got "tomorrow"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "PriceSet", c.typ, c.prices, c.eff)
		})
	}
	e.tb = t
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	e.fail("already has prices of Org1MSP for ecs", "org1.admin", "PriceSet", "ecs", ecsPrices, "")
	later := `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":15}}`
	e.ok("org1.admin", "PriceSet", "ecs", later, "2026-02-01T00:00:00Z")
	e.ok("org2.admin", "PriceSet", "ecs", `{"currency":"EUR","scale":2,"unit_prices":{"vcpu_hour":2}}`, "")

	// Every member reads every provider's prices, at any time.
	for _, c := range []struct {
		at   string
		want int64
	}{{"", 12}, {"2026-01-31T23:59:59Z", 12}, {"2026-02-01T00:00:00Z", 15}, {js(t0.Unix() + 86400*365), 15}} {
		got := decode[pricedEntry](t, e.eval("org3.user", "PriceGet", org1, "ecs", c.at))
		if got.Entry.UnitPrices["vcpu_hour"] != c.want {
			t.Errorf("price at %q: %d, want %d", c.at, got.Entry.UnitPrices["vcpu_hour"], c.want)
		}
	}
	e.fail("Org3MSP has no price for type ecs in force", "org3.user", "PriceGet", org3, "ecs", "")
	e.fail("only member orgs may read prices", "org4.user", "PriceGet", org1, "ecs", "")
	book := decode[PriceBook](t, e.eval("org2.user", "PriceHistory", org1, "ecs"))
	if len(book.Entries) != 2 {
		t.Fatalf("price history %+v", book)
	}
	all := decode[Page[pricedEntry]](t, e.eval("org3.user", "PriceList", "", "", ""))
	if all.Count != 2 || all.Items[0].Provider != org1 || all.Items[1].Provider != org2 {
		t.Fatalf("price list %+v", all)
	}
	one := decode[Page[pricedEntry]](t, e.eval("org3.user", "PriceList", org2, "", ""))
	if one.Count != 1 || one.Items[0].Entry.Currency != "EUR" {
		t.Fatalf("Org2's price list %+v", one)
	}
	hist := decode[[]HistoryEntry](t, e.eval("org3.user", "History", "price", org1+"/ecs"))
	if len(hist) != 2 {
		t.Fatalf("price key history %d versions", len(hist))
	}
}

func TestQuotasAndResources(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	for _, c := range []struct{ name, who, consumer, limits, want string }{
		{"non-admin", "org1.user", org2, ecsQuota, "only admins of member orgs may grant quotas"},
		{"self", "org1.admin", org1, ecsQuota, "an org cannot grant itself a quota"},
		{"non-member consumer", "org1.admin", org4, ecsQuota, "consumer Org4MSP is not a member"},
		{"empty", "org1.admin", org2, `{}`, "limits must name at least one limit"},
		{"negative", "org1.admin", org2, `{"vcpu":-2}`, "limits.vcpu must not be negative"},
		{"not object", "org1.admin", org2, `[1,2]`, "limits is not valid JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "QuotaSet", c.consumer, c.limits)
		})
	}
	e.tb = t
	e.fail("Org2MSP has no quota from Org1MSP", "org2.user", "ResourceRequest", "r0", org1, "ecs", ecsSpec, "30", "")
	e.ok("org1.admin", "QuotaSet", org2, ecsQuota)
	e.fail("only Org1MSP (provider) and Org2MSP (consumer) may read the quota Org1MSP granted Org2MSP", "org3.admin", "QuotaGet", org1, org2)

	// Request refusals.
	for _, c := range []struct{ name, who, id, provider, typ, spec, days, attrs, want string }{
		{"outsider", "org4.user", "r1", org1, "ecs", ecsSpec, "30", "", "only member orgs may request resources"},
		{"bad id", "org2.user", "r/1", org1, "ecs", ecsSpec, "30", "", `id "r/1" is not valid`},
		{"self", "org1.user", "r1", org1, "ecs", ecsSpec, "30", "", "provider Org1MSP is the caller's own org"},
		{"unknown type", "org2.user", "r1", org1, "bare-metal", ecsSpec, "30", "", `resource_type "bare-metal" is not a resource type`},
		{"unknown spec", "org2.user", "r1", org1, "ecs", `{"vcpu":2,"gpus":1}`, "30", "", "spec field gpus is not defined for type ecs"},
		{"fraction", "org2.user", "r1", org1, "ecs", `{"vcpu":0.5}`, "30", "", "spec.vcpu must be an integer, got 0.5"},
		{"days zero", "org2.user", "r1", org1, "ecs", ecsSpec, "0", "", "days must be between 1 and 36500, got 0"},
		{"days text", "org2.user", "r1", org1, "ecs", ecsSpec, "a month", "", `days must be an integer, got "a month"`},
		{"days over quota", "org2.user", "r1", org1, "ecs", ecsSpec, "366", "", "days 366 exceeds the quota: Org1MSP allows Org2MSP at most 365 days"},
		{"quota exceeded", "org2.user", "r1", org1, "ecs", `{"vcpu":11}`, "30", "", "spec field vcpu of 11 exceeds the remaining quota: Org1MSP granted Org2MSP 10 and 0 are held"},
		{"bad attrs", "org2.user", "r1", org1, "ecs", ecsSpec, "30", `{"zone":1}`, "attributes is not valid JSON"},
		{"obs no price", "org2.user", "r1", org1, "obs", `{"capacity_gib":1}`, "30", "", "spec field capacity_gib has no limit in the quota"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "ResourceRequest", c.id, c.provider, c.typ, c.spec, c.days, c.attrs)
		})
	}
	e.tb = t

	// Quota is consumed across resources and returned on release.
	e.ok("org2.user", "ResourceRequest", "r1", org1, "ecs", `{"vcpu":6}`, "30", "")
	e.fail("id r1 is already taken", "org2.user", "ResourceRequest", "r1", org1, "ecs", `{"vcpu":1}`, "30", "")
	e.fail("spec field vcpu of 6 exceeds the remaining quota: Org1MSP granted Org2MSP 10 and 6 are held", "org2.user", "ResourceRequest", "r2", org1, "ecs", `{"vcpu":6}`, "30", "")
	r2 := decode[Resource](t, e.ok("org2.user", "ResourceRequest", "", org1, "ecs", `{"vcpu":4}`, "30", ""))
	if r2.ID == "" || r2.ID[:2] != "r-" {
		t.Fatalf("derived id %q", r2.ID)
	}
	e.fail("only identities of Org1MSP, the provider of resource r1, may activate it; the caller is a client of Org2MSP", "org2.user", "ResourceActivate", "r1")
	e.fail("only Org1MSP (provider) and Org2MSP (consumer) may read resource r1", "org3.user", "ResourceGet", "r1")
	e.fail("only identities of Org2MSP (consumer) or Org1MSP (provider) may release resource r1", "org3.user", "ResourceRelease", "r1")
	// Releasing a requested resource bills nothing and returns its quota.
	rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1"))
	if rel.Bill != nil || rel.Resource.Status != StatusReleased {
		t.Fatalf("release of a requested resource: %+v", rel)
	}
	e.fail("resource r1 was already released", "org1.user", "ResourceRelease", "r1")
	e.fail("resource r1 is released; only a requested resource can be activated", "org1.user", "ResourceActivate", "r1")
	e.ok("org2.user", "ResourceRequest", "r3", org1, "ecs", `{"vcpu":6}`, "30", "")
	q := decode[Quota](t, e.eval("org1.user", "QuotaGet", org1, org2))
	if q.Used["vcpu"] != 10 {
		t.Fatalf("quota used %+v", q.Used)
	}
	// Lowering a quota refuses new requests only.
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":30,"vcpu":4}`)
	e.fail("spec field vcpu of 1 exceeds the remaining quota: Org1MSP granted Org2MSP 4 and 10 are held", "org2.user", "ResourceRequest", "r4", org1, "ecs", `{"vcpu":1}`, "30", "")

	mine := decode[Page[Resource]](t, e.eval("org2.user", "ResourceList", "consumer", "", "", ""))
	if mine.Count != 3 {
		t.Fatalf("consumer's resources %+v", mine)
	}
	req := decode[Page[Resource]](t, e.eval("org1.user", "ResourceList", "provider", StatusRequested, "", ""))
	if req.Count != 2 {
		t.Fatalf("provider's requested resources %+v", req)
	}
	e.fail(`role "owner" is not valid`, "org1.user", "ResourceList", "owner", "", "", "")
	if none := decode[Page[Resource]](t, e.eval("org3.user", "ResourceList", "consumer", "", "", "")); none.Count != 0 {
		t.Fatalf("Org3 sees %+v", none)
	}
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	e.ok("org3.admin", "PriceSet", "ecs", ecsPrices, "")
	e.ok("org3.admin", "QuotaSet", org2, ecsQuota)
	e.activeResource("r1")
	e.ok("org2.user", "ResourceRequest", "r3", org3, "ecs", ecsSpec, "1", "")
	e.ok("org2.user", "ResourceRequest", "pending", org1, "ecs", `{"vcpu":1}`, "1", "")
	e.ok("org2.user", "ResourceRequest", "pending2", org1, "ecs", `{"vcpu":1}`, "1", "")
	e.ok("org3.agent", "ResourceActivate", "r3")
	e.advance(10 * time.Hour)
	start, now := t0.Unix(), t0.Unix()+10*3600
	rec := func(id, res, metric string, q any, s, en int64) map[string]any {
		return map[string]any{"id": id, "resource": res, "metric": metric, "quantity": q, "start": s, "end": en}
	}
	batch := func(recs ...map[string]any) string { return js(recs) }
	for _, c := range []struct{ name, who, records, want string }{
		{"outsider", "org4.agent", batch(rec("u1", "r1", "egress_gib", 1, start, now)), "only member orgs may submit usage"},
		{"other provider's resource", "org3.agent", batch(rec("u1", "r1", "egress_gib", 1, start, now)), "records[0].resource: resource r1 is provided by Org1MSP; only identities of Org1MSP may submit its usage, not Org3MSP"},
		{"consumer", "org2.user", batch(rec("u1", "r1", "egress_gib", 1, start, now)), "only identities of Org1MSP may submit its usage, not Org2MSP"},
		{"empty", "org1.agent", "[]", "records must hold at least one record"},
		{"not array", "org1.agent", "{}", "records is not valid JSON"},
		{"unknown field", "org1.agent", `[{"id":"u1","resource":"r1","metric":"egress_gib","quantity":1,"start":1,"end":2,"unit":"GiB"}]`, `unknown field "unit"`},
		{"unknown resource", "org1.agent", batch(rec("u1", "nope", "egress_gib", 1, start, now)), "records[0].resource: resource_id nope names no resource"},
		{"unknown metric", "org1.agent", batch(rec("u1", "r1", "gpu_seconds", 1, start, now)), "records[0].metric gpu_seconds is not a metric of type ecs (defined: cpu_seconds, egress_gib)"},
		{"negative", "org1.agent", batch(rec("u1", "r1", "egress_gib", -1, start, now)), "records[0].quantity must not be negative, got -1"},
		{"fraction", "org1.agent", batch(rec("u1", "r1", "egress_gib", 1.5, start, now)), "records[0].quantity must be an integer, got 1.5"},
		{"overflow literal", "org1.agent", `[{"id":"u1","resource":"r1","metric":"egress_gib","quantity":99999999999999999999,"start":1,"end":2}]`, "records[0].quantity 99999999999999999999 does not fit in a 64-bit integer"},
		{"missing quantity", "org1.agent", `[{"id":"u1","resource":"r1","metric":"egress_gib","start":1,"end":2}]`, "records[0].quantity is required"},
		{"bad id", "org1.agent", batch(rec("-u1", "r1", "egress_gib", 1, start, now)), `records[0].id "-u1" is not valid`},
		{"not the derived id", "org1.agent", batch(rec("u-"+strings.Repeat("ab", 20), "r1", "egress_gib", 1, start, now)), "records[0].id u-abab"},
		{"empty period", "org1.agent", batch(rec("u1", "r1", "egress_gib", 1, now, now)), "records[0].end " + fmt.Sprint(now) + " must be after records[0].start"},
		{"before activation", "org1.agent", batch(rec("u1", "r1", "egress_gib", 1, start-1, now)), "records[0].start " + fmt.Sprint(start-1) + " is before resource r1 was activated"},
		{"future", "org1.agent", batch(rec("u1", "r1", "egress_gib", 1, start, now+1)), "is in the future"},
		{"after expiry", "org3.agent", batch(rec("u1", "r3", "egress_gib", 1, start, start+86401)), "is after resource r3's allocation expires"},
		{"not active", "org1.agent", batch(rec("u1", "pending", "egress_gib", 1, start, now)), "resource pending is not active yet"},
		// pending2's state is byte for byte pending's (decodedResources
		// shares the decoded value): the message still names pending2.
		{"not active, same state", "org1.agent", batch(rec("u1", "pending2", "egress_gib", 1, start, now)), "resource pending2 is not active yet"},
		{"same id twice in batch", "org1.agent", batch(rec("u1", "r1", "egress_gib", 1, start, now), rec("u1", "r1", "egress_gib", 2, start, now)), "records[1].id u1 appears twice in the batch with different content"},
		{"second record bad", "org1.agent", batch(rec("u1", "r1", "egress_gib", 1, start, now), rec("u2", "r1", "egress_gib", 1, start, now+5)), "records[1].end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "UsageSubmit", c.records)
		})
	}
	e.tb = t

	ur := decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", batch(rec("u1", "r1", "egress_gib", 4, start, now), rec("u1", "r1", "egress_gib", 4, start, now))))
	if js(ur) != `{"accepted":1,"duplicates":["u1"]}` {
		t.Fatalf("usage result %s", js(ur))
	}
	ur = decode[UsageResult](t, e.ok("org1.agent", "UsageSubmit", batch(rec("u1", "r1", "egress_gib", 4, start, now), rec("u2", "r1", "cpu_seconds", 7200, start, now))))
	if js(ur) != `{"accepted":1,"duplicates":["u1"]}` {
		t.Fatalf("usage result %s", js(ur))
	}
	e.fail("records[0].id u1 was already submitted", "org1.agent", "UsageSubmit", batch(rec("u1", "r1", "egress_gib", 5, start, now)))
	// IDs are per provider: Org3 may use "u1" too.
	e.ok("org3.agent", "UsageSubmit", batch(rec("u1", "r3", "egress_gib", 1, start, now)))
	list := decode[Page[UsageRecord]](t, e.eval("org2.user", "UsageList", "r1", "", ""))
	if list.Count != 2 {
		t.Fatalf("usage list %+v", list)
	}
	e.fail("only Org1MSP (provider) and Org2MSP (consumer) may read the usage of resource r1", "org3.user", "UsageList", "r1", "", "")

	// Billed periods are closed to usage.
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	e.ok("org1.agent", "BillClose", "r1", "")
	e.advance(time.Hour)
	e.fail("is not after the end of resource r1's last bill", "org1.agent", "UsageSubmit", batch(rec("u3", "r1", "egress_gib", 1, start, now)))

	// A batch whose records sum past int64 is refused at submit time.
	e.fail("this batch's egress_gib records of resource r1 sum past the largest quantity a bill can hold", "org1.agent", "UsageSubmit",
		batch(rec("big1", "r1", "egress_gib", int64(math.MaxInt64), now, now+60), rec("big2", "r1", "egress_gib", 1, now, now+120)))
	// So is one across batches (the resource's running totals,
	// usage_test.go TestUsageOverflowAcrossBatches).
	e.ok("org1.agent", "UsageSubmit", batch(rec("big1", "r1", "egress_gib", int64(math.MaxInt64), now, now+60)))
	e.fail("resource r1's egress_gib records not billed yet sum to 9223372036854775807", "org1.agent", "UsageSubmit", batch(rec("big2", "r1", "egress_gib", 1, now, now+120)))
}

// TestQuotaReturns: a release returns its quota in a key of its own
// (quota-free/<provider>/<consumer>/<resource>), never writing the quota
// itself, so that releases between the same two orgs do not conflict on
// Fabric; what is held is the same as if it had written the quota, and the
// next request or QuotaSet folds the returns in.
func TestQuotaReturns(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market() // Org1 grants Org2 vcpu 10
	e.activeRule("ecs", "1.0.0", wasmFile(t, "ecs_hourly.wasm"))
	held := func(want int64) {
		t.Helper()
		if q := decode[Quota](t, e.eval("org2.user", "QuotaGet", org1, org2)); q.Used["vcpu"] != want {
			t.Fatalf("vcpu held %d, want %d (%+v)", q.Used["vcpu"], want, q.Used)
		}
	}
	quotaKey := "quota/" + org1 + "/" + org2
	for _, id := range []string{"a", "b", "c"} {
		e.ok("org2.user", "ResourceRequest", id, org1, "ecs", `{"vcpu":3}`, "30", "")
	}
	e.ok("org1.agent", "ResourceActivate", "a")
	held(9)
	e.fail("spec field vcpu of 2 exceeds the remaining quota: Org1MSP granted Org2MSP 10 and 9 are held", "org2.user", "ResourceRequest", "d", org1, "ecs", `{"vcpu":2}`, "30", "")
	e.advance(time.Hour)
	before := e.snapshot()[quotaKey]
	e.ok("org2.user", "ResourceRelease", "b") // requested: no bill
	e.ok("org1.user", "ResourceRelease", "a") // active: billed
	if after := e.snapshot()[quotaKey]; after != before {
		t.Fatalf("a release wrote the quota:\n%s\n%s", before, after)
	}
	if free := e.l.Keys("quota-free/"); len(free) != 2 || free[0] != "quota-free/"+org1+"/"+org2+"/a" {
		t.Fatalf("returns %v", free)
	}
	held(3)
	e.fail("resource b was already released", "org2.user", "ResourceRelease", "b")
	// A request folds the returns into the quota and deletes them.
	e.ok("org2.user", "ResourceRequest", "d", org1, "ecs", `{"vcpu":7}`, "30", "")
	if free := e.l.Keys("quota-free/"); len(free) != 0 {
		t.Fatalf("returns left after a request: %v", free)
	}
	held(10)
	var q Quota
	if err := json.Unmarshal([]byte(e.snapshot()[quotaKey]), &q); err != nil || q.Used["vcpu"] != 10 {
		t.Fatalf("stored quota %s (%v)", e.snapshot()[quotaKey], err)
	}
	// QuotaSet folds them too, with the limits they were returned under.
	e.ok("org2.user", "ResourceRelease", "d")
	e.ok("org1.admin", "QuotaSet", org2, `{"max_days":30,"vcpu":5}`)
	if free := e.l.Keys("quota-free/"); len(free) != 0 {
		t.Fatalf("returns left after QuotaSet: %v", free)
	}
	held(3)
	e.ok("org2.user", "ResourceRequest", "e", org1, "ecs", `{"vcpu":2}`, "30", "")
	held(5)
}

// TestResourceRequestMany: several resources in one transaction are
// counted against the quota together (all or nothing), get their IDs (or
// derived ones) in order, and are each what ResourceRequest would make.
func TestResourceRequestMany(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market() // vcpu 10, memory_gib 40, system_disk_gib 40, public_ips 2
	const small = `{"vcpu":2,"memory_gib":4}`
	before := e.snapshot()
	for _, c := range []struct{ ids, spec, want string }{
		{`[]`, small, "ids must hold 1 to 100 IDs, got 0"},
		{js(make([]string, 101)), small, "ids must hold 1 to 100 IDs, got 101"},
		{`["a","b","a"]`, small, "ids[2] a is also ids[0]; each resource needs its own ID"},
		{`["a","b/c"]`, small, `ids[1] "b/c" is not valid`},
		{`"a"`, small, "ids is not valid JSON"},
		{`["a","b","c","d","e","f"]`, small, "spec field vcpu of 2 for each of 6 resources exceeds the remaining quota: Org1MSP granted Org2MSP 10 and 0 are held"},
	} {
		e.fail(c.want, "org2.user", "ResourceRequestMany", c.ids, org1, "ecs", c.spec, "30", "")
	}
	if js(e.snapshot()) != js(before) {
		t.Fatal("a refused request wrote state")
	}
	rs := decode[[]Resource](t, e.ok("org2.user", "ResourceRequestMany", `["web-1","","web-3"]`, org1, "ecs", small, "30", `{"zone":"bj-1"}`))
	if len(rs) != 3 || rs[0].ID != "web-1" || rs[2].ID != "web-3" || !strings.HasPrefix(rs[1].ID, "r-") || len(rs[1].ID) != 18 {
		t.Fatalf("resources %+v", rs)
	}
	for _, r := range rs {
		got := decode[Resource](t, e.eval("org2.user", "ResourceGet", r.ID))
		if js(got) != js(r) || got.Status != StatusRequested || got.Consumer != org2 || got.Attributes["zone"] != "bj-1" {
			t.Fatalf("stored %s, returned %s", js(got), js(r))
		}
	}
	q := decode[Quota](t, e.eval("org2.user", "QuotaGet", org1, org2))
	if q.Used["vcpu"] != 6 || q.Used["memory_gib"] != 12 {
		t.Fatalf("quota use %v, want vcpu 6 and memory_gib 12", q.Used)
	}
	e.fail("id web-3 is already taken by another resource", "org2.user", "ResourceRequestMany", `["web-4","web-3"]`, org1, "ecs", small, "30", "")
	e.fail("spec field vcpu of 2 for each of 3 resources exceeds the remaining quota: Org1MSP granted Org2MSP 10 and 6 are held",
		"org2.user", "ResourceRequestMany", `["web-4","web-5","web-6"]`, org1, "ecs", small, "30", "")
	e.ok("org2.user", "ResourceRequestMany", `["web-4","web-5"]`, org1, "ecs", small, "30", "") // exactly the rest
	if q := decode[Quota](t, e.eval("org2.user", "QuotaGet", org1, org2)); q.Used["vcpu"] != 10 {
		t.Fatalf("quota use %v, want vcpu 10", q.Used)
	}
}

// TestPriceParameters: a price entry may name which of its unit prices are
// parameters (quantities, not money); an entry that names none is stored as
// before, and the rule input is the same either way.
func TestPriceParameters(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	for _, c := range []struct{ name, prices, want string }{
		{"not an entry", `{"currency":"EUR","scale":2,"unit_prices":{"a_gib":1},"parameters":["package_gib"]}`, `prices.parameters names "package_gib", which is not in prices.unit_prices`},
		{"twice", `{"currency":"EUR","scale":2,"unit_prices":{"a_gib":1,"package_gib":5},"parameters":["package_gib","package_gib"]}`, `prices.parameters names "package_gib" twice`},
		{"not a list", `{"currency":"EUR","scale":2,"unit_prices":{"a_gib":1},"parameters":"a_gib"}`, "prices is not valid JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, "org1.admin", "PriceSet", "obs", c.prices, "")
		})
	}
	e.tb = t
	e.ok("org1.admin", "PriceSet", "ecs", ecsPrices, "")
	raw := e.eval("org2.user", "PriceGet", org1, "ecs", "")
	if strings.Contains(raw, "parameters") {
		t.Errorf("an entry without parameters is stored with a parameters field: %s", raw)
	}
	e.ok("org1.admin", "PriceSet", "obs", `{"currency":"EUR","scale":2,"unit_prices":{"tier1_gib_month":2,"tier1_upto_gib_month":1024,"tier2_gib_month":1,"package_gib":500,"bulk_gib":3},"parameters":["package_gib","bulk_gib"]}`, "")
	got := decode[pricedEntry](t, e.eval("org2.user", "PriceGet", org1, "obs", ""))
	if fmt.Sprint(got.Entry.Parameters) != "[bulk_gib package_gib]" {
		t.Fatalf("parameters %v, want them sorted", got.Entry.Parameters)
	}
	for name, want := range map[string]bool{"tier1_gib_month": false, "tier2_gib_month": false, "tier1_upto_gib_month": true, "package_gib": true, "bulk_gib": true} {
		if got.Entry.IsParameter(name) != want {
			t.Errorf("IsParameter(%s) = %v, want %v", name, !want, want)
		}
	}

	// The rule input carries unit prices alone: parameters change no byte.
	r := &Resource{ID: "r1", Type: "obs", Provider: org1, Consumer: org2, Spec: map[string]int64{"gib": 1}}
	plain := got.Entry
	plain.Parameters = nil
	a, err := EncodeInput(r, &got.Entry, nil, nil, t0.Unix(), t0.Unix()+3600, "tx", t0.Unix())
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeInput(r, &plain, nil, nil, t0.Unix(), t0.Unix()+3600, "tx", t0.Unix())
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) || strings.Contains(string(a), "parameters") {
		t.Errorf("rule input changed by parameters:\n%s\n%s", a, b)
	}
}
