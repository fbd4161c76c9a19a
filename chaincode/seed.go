package chaincode

import (
	"encoding/json"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// The seed prototype's function names. The router upper-cases a function
// name's first letter, so "initPrice" reaches InitPrice. Each takes two
// forms, told apart by the number of arguments (ReadResource, whose two
// forms have as many, by the shape of its ref):
//
//   - fedmeter's (the methods below): orgs are MSP IDs, sizes and prices
//     named in JSON objects;
//   - the prototype's positional lists, exactly as its section 12 calls
//     them (seedForms), with orgs named by the codes and short names the
//     members registered as aliases (ConsortiumPropose member.alias).
//
// chaincode/README.md ("Coming from the prototype") maps every position.

// InitInitialQuota is the seed's name for QuotaSet(consumer, limits); with
// 13 arguments, the prototype's form (seedInitInitialQuota).
func (c *Contract) InitInitialQuota(ctx contractapi.TransactionContextInterface, consumer, limits string) (string, error) {
	return c.QuotaSet(ctx, consumer, limits)
}

// InitPrice is the seed's name for PriceSet(resourceType, prices, "") (prices
// in force from now); with 9 arguments, the prototype's form
// (seedInitPrice).
func (c *Contract) InitPrice(ctx contractapi.TransactionContextInterface, resourceType, prices string) (string, error) {
	return c.PriceSet(ctx, resourceType, prices, "")
}

// ReadResource is the seed's generic reader: kind "quota" (ref
// provider/consumer, or the prototype's quota ID), "price" (ref
// provider/type in force now, or the prototype's provider code or name: its
// ecs prices), "resource" or "ECSResource" or "OSSResource" (ref resource
// ID), "bill" (ref bill ID), "ECSBill" or "OSSBill" (ref resource ID: its
// latest bill, as the prototype keyed bills by instance) or "rule" (ref hash
// or name@version), with the access rules of QuotaGet, PriceGet,
// ResourceGet, BillGet and RuleGet.
func (c *Contract) ReadResource(ctx contractapi.TransactionContextInterface, kind, ref string) (string, error) {
	a, b, two := strings.Cut(ref, "/")
	switch kind {
	case "quota", "price":
		if !two {
			return c.seedRead(ctx, kind, ref)
		}
		if kind == "quota" {
			return c.QuotaGet(ctx, a, b)
		}
		return c.PriceGet(ctx, a, b, "")
	case "resource":
		return c.ResourceGet(ctx, ref)
	case "ECSResource", "OSSResource":
		return c.seedRead(ctx, kind, ref)
	case "bill":
		return c.BillGet(ctx, ref)
	case "ECSBill", "OSSBill":
		return c.seedRead(ctx, kind, ref)
	case "rule":
		return c.RuleGet(ctx, ref)
	}
	return "", errf("kind %q is not valid: it must be quota, price, resource, bill or rule (or the prototype's ECSResource, OSSResource, ECSBill, OSSBill)", kind)
}

// InitECSResource is the seed's name for ResourceRequest of type "ecs":
// (id, provider, spec, days); with 12 arguments, the prototype's form
// (seedInitECSResource).
func (c *Contract) InitECSResource(ctx contractapi.TransactionContextInterface, id, provider, spec, days string) (string, error) {
	return c.ResourceRequest(ctx, id, provider, "ecs", spec, days, "")
}

// BilledECS is the seed's name for ResourceRelease: release and bill; with
// 3 arguments, the prototype's form (seedBilledECS).
func (c *Contract) BilledECS(ctx contractapi.TransactionContextInterface, resourceID string) (string, error) {
	return c.ResourceRelease(ctx, resourceID)
}

// QueryProviderBill is the seed's name for BillListByProvider over all time,
// first page (pageSize and bookmark as BillListByProvider); with 2
// arguments, the prototype's form (seedQueryProviderBill).
func (c *Contract) QueryProviderBill(ctx contractapi.TransactionContextInterface, provider, pageSize, bookmark string) (string, error) {
	return c.BillListByProvider(ctx, provider, "", "", pageSize, bookmark)
}

// QueryProviderTotalCost returns the provider's receivable totals per
// consumer and currency over all time. The provider's identities only. With
// 2 arguments, the prototype's form (seedQueryProviderTotalCost).
func (c *Contract) QueryProviderTotalCost(ctx contractapi.TransactionContextInterface, provider string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read bill totals"); err != nil {
		return "", err
	}
	if err := checkOrg("provider", provider); err != nil {
		return "", err
	}
	if provider != t.msp {
		return "", denied("only identities of %s may read its total receivables; the caller is %s", provider, t.role())
	}
	tot, err := t.totals("", "", true, false)
	if err != nil {
		return "", err
	}
	return out(tot)
}

// ---- the prototype's positional forms ----

// seedForm is a seed transaction's prototype form: its positional
// parameters (section 12's lists; the prototype's source names them) and
// the method that maps them to fedmeter's model.
type seedForm struct {
	params []string
	call   func(c *Contract, ctx contractapi.TransactionContextInterface, args []string) (string, error)
}

// seedForms are the prototype's forms of the seed's names, by transaction.
// The router sends a call here when its argument count is the prototype's
// (no transaction's two forms have the same count).
var seedForms = map[string]seedForm{
	"InitInitialQuota":       {seedQuotaParams, (*Contract).seedInitInitialQuota},
	"InitPrice":              {seedPriceParams, (*Contract).seedInitPrice},
	"InitECSResource":        {seedECSParams, (*Contract).seedInitECSResource},
	"BilledECS":              {[]string{"instance_id", "provider_code", "user_code"}, (*Contract).seedBilledECS},
	"QueryProviderBill":      {[]string{"provider_code", "bill_kind"}, (*Contract).seedQueryProviderBill},
	"QueryProviderTotalCost": {[]string{"provider_code", "bill_kind"}, (*Contract).seedQueryProviderTotalCost},
}

// The prototype's positions (its source's field names, in snake case).
var (
	seedQuotaParams = []string{"quota_id", "provider_name", "provider_code", "consumer_name", "consumer_code",
		"holding_days", "vcpu", "ram_gib", "ecs_disk_gib", "oss_disk_gib", "bandwidth_mbps", "public_ips", "private_ips"}
	seedPriceParams = []string{"provider_name", "provider_code", "vcpu_price", "ram_price", "ecs_disk_price", "oss_disk_price",
		"request_price", "public_bandwidth_price", "private_bandwidth_price"}
	seedECSParams = []string{"instance_id", "provider_name", "provider_code", "consumer_name", "user_code",
		"cloud_service", "network_type", "bandwidth_mbps", "vcpu", "ram_gib", "disk_gib", "holding_days"}
)

// callSeed runs a prototype form with the transaction context the router
// would build (the stub and the client identity).
func (c *Contract) callSeed(stub shim.ChaincodeStubInterface, sf seedForm, args []string) *peer.Response {
	ci, err := cid.New(stub)
	if err != nil {
		return shim.Error(ledgerf("the client identity could not be read from the transaction: %v", err).Error())
	}
	ctx := new(contractapi.TransactionContext)
	ctx.SetStub(stub)
	ctx.SetClientIdentity(ci)
	s, err := sf.call(c, ctx, args)
	if err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success([]byte(s))
}

// pfxSeedQuota keys a prototype quota ID: seed-quota/<quota id> -> the
// pair it names (seedQuotaRef).
const pfxSeedQuota = "seed-quota/"

// seedQuotaRef is what a prototype quota ID names.
type seedQuotaRef struct {
	Provider string `json:"provider"`
	Consumer string `json:"consumer"`
}

// seedInts parses the prototype's non-negative integer positions.
func seedInts(names []string, args []string) (map[string]int64, error) {
	m := make(map[string]int64, len(names))
	for i, n := range names {
		v, err := parseInt(n, args[i], 0, 1<<53)
		if err != nil {
			return nil, err
		}
		m[n] = v
	}
	return m, nil
}

// SeedQuota is what the prototype's initInitialQuota returns: its quota ID
// and fedmeter's quota.
type SeedQuota struct {
	QuotaID string          `json:"quota_id"`
	Quota   json.RawMessage `json:"quota"`
}

// seedInitInitialQuota: (quota_id, provider_name, provider_code,
// consumer_name, consumer_code, holding_days, vcpu, ram_gib, ecs_disk_gib,
// oss_disk_gib, bandwidth_mbps, public_ips, private_ips) → QuotaSet of the
// consumer with limits max_days, vcpu, memory_gib, system_disk_gib,
// capacity_gib, bandwidth_mbps, public_ips, private_ips; the quota ID names
// the pair for readResource("quota", id). Admins of the provider.
func (c *Contract) seedInitInitialQuota(ctx contractapi.TransactionContextInterface, a []string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("grant quotas")
	if err != nil {
		return "", err
	}
	if err := checkID("quota_id", a[0]); err != nil {
		return "", err
	}
	provider, err := orgByNameAndCode(cons, "provider", a[1], a[2])
	if err != nil {
		return "", err
	}
	consumer, err := orgByNameAndCode(cons, "consumer", a[3], a[4])
	if err != nil {
		return "", err
	}
	if provider != t.msp {
		return "", denied("provider_code %s is %s; only admins of %s may grant its quotas; the caller is %s", a[2], provider, provider, t.role())
	}
	n, err := seedInts(seedQuotaParams[5:], a[5:])
	if err != nil {
		return "", err
	}
	if n["holding_days"] < 1 || n["holding_days"] > maxDays {
		return "", errf("holding_days must be between 1 and %d, got %d", maxDays, n["holding_days"])
	}
	limits := map[string]int64{
		"max_days": n["holding_days"], "vcpu": n["vcpu"], "memory_gib": n["ram_gib"],
		"system_disk_gib": n["ecs_disk_gib"], "capacity_gib": n["oss_disk_gib"],
		"bandwidth_mbps": n["bandwidth_mbps"], "public_ips": n["public_ips"], "private_ips": n["private_ips"],
	}
	var ref seedQuotaRef
	k := key(pfxSeedQuota, a[0])
	if ok, err := t.getJSON(k, &ref); err != nil {
		return "", err
	} else if ok && (ref.Provider != provider || ref.Consumer != consumer) {
		return "", conflict("quota_id %s already names the quota %s grants %s; choose another ID", a[0], ref.Provider, ref.Consumer)
	}
	q, err := c.QuotaSet(ctx, consumer, mustJSON(limits))
	if err != nil {
		return "", err
	}
	if err := t.putJSON(k, seedQuotaRef{Provider: provider, Consumer: consumer}); err != nil {
		return "", err
	}
	return out(SeedQuota{QuotaID: a[0], Quota: json.RawMessage(q)})
}

// SeedPrices is what the prototype's initPrice returns: the price books it
// wrote (obs only when the catalog has that type).
type SeedPrices struct {
	ECS json.RawMessage `json:"ecs"`
	OBS json.RawMessage `json:"obs,omitempty"`
}

// seedCurrency and seedScale are the prototype's money: prices in fen
// (分, its source's comment), a hundredth of a yuan.
const (
	seedCurrency = "CNY"
	seedScale    = 2
)

// seedInitPrice: (provider_name, provider_code, vcpu_price, ram_price,
// ecs_disk_price, oss_disk_price, request_price, public_bandwidth_price,
// private_bandwidth_price), in fen per hour → PriceSet of ecs (vcpu_hour,
// memory_gib_hour, disk_gib_hour, public_bandwidth_mbps_hour,
// private_bandwidth_mbps_hour) and, when the catalog has obs, of obs
// (capacity_gib_hour, request), in force now. Admins of the provider.
func (c *Contract) seedInitPrice(ctx contractapi.TransactionContextInterface, a []string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("set prices")
	if err != nil {
		return "", err
	}
	provider, err := orgByNameAndCode(cons, "provider", a[0], a[1])
	if err != nil {
		return "", err
	}
	if provider != t.msp {
		return "", denied("provider_code %s is %s; only admins of %s may set its prices; the caller is %s", a[1], provider, provider, t.role())
	}
	n, err := seedInts(seedPriceParams[2:], a[2:])
	if err != nil {
		return "", err
	}
	book := func(units map[string]int64) string {
		return mustJSON(map[string]any{"currency": seedCurrency, "scale": seedScale, "unit_prices": units})
	}
	var res SeedPrices
	s, err := c.PriceSet(ctx, "ecs", book(map[string]int64{
		"vcpu_hour": n["vcpu_price"], "memory_gib_hour": n["ram_price"], "disk_gib_hour": n["ecs_disk_price"],
		"public_bandwidth_mbps_hour": n["public_bandwidth_price"], "private_bandwidth_mbps_hour": n["private_bandwidth_price"],
	}), "")
	if err != nil {
		return "", err
	}
	res.ECS = json.RawMessage(s)
	if typeDef(cons, "obs") != nil {
		s, err := c.PriceSet(ctx, "obs", book(map[string]int64{"capacity_gib_hour": n["oss_disk_price"], "request": n["request_price"]}), "")
		if err != nil {
			return "", err
		}
		res.OBS = json.RawMessage(s)
	}
	return out(res)
}

// seedInitECSResource: (instance_id, provider_name, provider_code,
// consumer_name, user_code, cloud_service, network_type, bandwidth_mbps,
// vcpu, ram_gib, disk_gib, holding_days) → ResourceRequest of an ecs
// resource with spec vcpu, memory_gib, system_disk_gib and attributes
// network_type, bandwidth_mbps, user (the prototype's user code). Any
// identity of the consumer.
func (c *Contract) seedInitECSResource(ctx contractapi.TransactionContextInterface, a []string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("request resources")
	if err != nil {
		return "", err
	}
	if err := checkID("instance_id", a[0]); err != nil {
		return "", err
	}
	provider, err := orgByNameAndCode(cons, "provider", a[1], a[2])
	if err != nil {
		return "", err
	}
	consumer, err := orgByName(cons, "consumer_name", a[3])
	if err != nil {
		return "", err
	}
	if consumer != t.msp {
		return "", denied("consumer_name %s is %s; only identities of %s may request resources for it; the caller is %s", a[3], consumer, consumer, t.role())
	}
	if err := checkID("user_code", a[4]); err != nil {
		return "", err
	}
	if !strings.EqualFold(a[5], "ECS") {
		return "", errf("cloud_service %q is not valid for initECSResource: it must be ECS", a[5])
	}
	if a[6] != "public" && a[6] != "private" {
		return "", errf("network_type %q is not valid: it must be public or private", a[6])
	}
	n, err := seedInts(seedECSParams[7:], a[7:])
	if err != nil {
		return "", err
	}
	spec := map[string]int64{"vcpu": n["vcpu"], "memory_gib": n["ram_gib"], "system_disk_gib": n["disk_gib"]}
	attrs := map[string]string{"network_type": a[6], "bandwidth_mbps": a[7], "user": a[4]}
	return c.ResourceRequest(ctx, a[0], provider, "ecs", mustJSON(spec), a[11], mustJSON(attrs))
}

// SeedBill is what the prototype's billedECS returns: the resource released
// and its bill's total (in the price book's minor units, fen for the
// prototype's prices), with the bill's summary (BillGet reads the bill).
type SeedBill struct {
	InstanceID string                 `json:"instance_id"`
	ProviderID string                 `json:"provider_id"`
	UserID     string                 `json:"user_id"`
	Provider   string                 `json:"provider"`
	Consumer   string                 `json:"consumer"`
	TotalCost  int64                  `json:"total_cost"`
	Currency   string                 `json:"currency,omitempty"`
	Scale      int                    `json:"scale,omitempty"`
	Resource   model.ReleasedResource `json:"resource"`
	Bill       *BillSummary           `json:"bill,omitempty"`
}

// seedBilledECS: (instance_id, provider_code, user_code) → ResourceRelease,
// after checking that the codes are the resource's provider and user. The
// consumer's or the provider's identities.
func (c *Contract) seedBilledECS(ctx contractapi.TransactionContextInterface, a []string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("release resources")
	if err != nil {
		return "", err
	}
	if err := checkID("instance_id", a[0]); err != nil {
		return "", err
	}
	r, err := t.loadResource(a[0])
	if err != nil {
		return "", err
	}
	if err := t.party("resource "+r.ID, r.Provider, r.Consumer); err != nil {
		return "", err
	}
	if r.Type != "ecs" {
		return "", errf("instance_id %s is a resource of type %s; billedECS releases ecs resources", r.ID, r.Type)
	}
	provider, err := orgByName(cons, "provider_code", a[1])
	if err != nil {
		return "", err
	}
	if provider != r.Provider {
		return "", errf("provider_code %s is %s, but resource %s is provided by %s", a[1], provider, r.ID, r.Provider)
	}
	if u := r.Attributes["user"]; u != "" && u != a[2] {
		return "", errf("user_code %s is not the user who requested resource %s (%s)", a[2], r.ID, u)
	}
	s, err := c.ResourceRelease(ctx, a[0])
	if err != nil {
		return "", err
	}
	var rel model.ReleaseResult
	if err := json.Unmarshal([]byte(s), &rel); err != nil {
		return "", internalf("decoding the release result failed: %v", err)
	}
	sb := SeedBill{InstanceID: r.ID, ProviderID: a[1], UserID: a[2], Provider: r.Provider, Consumer: r.Consumer, Resource: rel.Resource, Bill: rel.Bill}
	if rel.Bill != nil {
		sb.TotalCost, sb.Currency, sb.Scale = rel.Bill.Amount, rel.Bill.Currency, rel.Bill.Scale
	}
	return out(sb)
}

// maxSeedBills bounds the bills the prototype's unpaged queries read.
const maxSeedBills = 5000

// seedBillType maps the prototype's bill kind to a resource type.
func seedBillType(kind string) (string, error) {
	switch kind {
	case "ECSBill":
		return "ecs", nil
	case "OSSBill":
		return "obs", nil
	}
	return "", errf("bill_kind %q is not valid: it must be ECSBill or OSSBill", kind)
}

// seedProviderBills reads every bill the provider named by code issued for
// resources of the kind's type (the prototype's queries are not paged; more
// than maxSeedBills are refused: BillListByProvider pages them).
func (c *Contract) seedProviderBills(ctx contractapi.TransactionContextInterface, a []string) (string, string, []*Bill, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", "", nil, err
	}
	cons, err := t.member("read bills")
	if err != nil {
		return "", "", nil, err
	}
	provider, err := orgByName(cons, "provider_code", a[0])
	if err != nil {
		return "", "", nil, err
	}
	typ, err := seedBillType(a[1])
	if err != nil {
		return "", "", nil, err
	}
	var bills []*Bill
	bookmark, read := "", 0
	for {
		s, err := c.BillListByProvider(ctx, provider, "", "", "500", bookmark)
		if err != nil {
			return "", "", nil, err
		}
		var page Page[*Bill]
		if err := json.Unmarshal([]byte(s), &page); err != nil {
			return "", "", nil, internalf("decoding a page of bills failed: %v", err)
		}
		for _, b := range page.Items {
			if b.ResourceType == typ {
				bills = append(bills, b)
			}
		}
		if read += page.Count; read > maxSeedBills {
			return "", "", nil, errf("provider %s has issued more than %d bills; list them a page at a time with BillListByProvider, and sum them with BillTotals", provider, maxSeedBills)
		}
		if bookmark = page.Bookmark; bookmark == "" {
			break
		}
	}
	return provider, typ, bills, nil
}

// SeedBillList is what the prototype's queryProviderBill returns: its
// {"result": [...]} with fedmeter's bills.
type SeedBillList struct {
	Result []*Bill `json:"result"`
}

// seedQueryProviderBill: (provider_code, bill_kind ECSBill | OSSBill) →
// every bill the provider issued for resources of the type. The provider's
// identities.
func (c *Contract) seedQueryProviderBill(ctx contractapi.TransactionContextInterface, a []string) (string, error) {
	_, _, bills, err := c.seedProviderBills(ctx, a)
	if err != nil {
		return "", err
	}
	if bills == nil {
		bills = []*Bill{}
	}
	return out(SeedBillList{Result: bills})
}

// SeedTotalCost is what the prototype's queryProviderTotalCost returns: the
// sum of the provider's bills of one kind, per currency (one for the
// prototype's prices: total_cost in fen).
type SeedTotalCost struct {
	ProviderID string      `json:"provider_id"`
	Provider   string      `json:"provider"`
	Kind       string      `json:"kind"`
	Bills      int         `json:"bills"`
	TotalCost  []SeedTotal `json:"total_cost"`
}

// SeedTotal is one currency's sum.
type SeedTotal struct {
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
	Amount   int64  `json:"amount"`
}

// seedQueryProviderTotalCost: (provider_code, bill_kind) → the sum of the
// bills seedQueryProviderBill lists, per currency and scale (in the order
// first seen). The provider's identities.
func (c *Contract) seedQueryProviderTotalCost(ctx contractapi.TransactionContextInterface, a []string) (string, error) {
	provider, _, bills, err := c.seedProviderBills(ctx, a)
	if err != nil {
		return "", err
	}
	res := SeedTotalCost{ProviderID: a[0], Provider: provider, Kind: a[1], Bills: len(bills), TotalCost: []SeedTotal{}}
	for _, b := range bills {
		i := 0
		for i < len(res.TotalCost) && (res.TotalCost[i].Currency != b.Currency || res.TotalCost[i].Scale != b.Scale) {
			i++
		}
		if i == len(res.TotalCost) {
			res.TotalCost = append(res.TotalCost, SeedTotal{Currency: b.Currency, Scale: b.Scale})
		}
		sum, err := addChecked("total_cost", res.TotalCost[i].Amount, b.Amount)
		if err != nil {
			return "", err
		}
		res.TotalCost[i].Amount = sum
	}
	return out(res)
}

// seedRead is ReadResource's prototype forms: quota by quota ID, price by
// provider code or name (ecs, in force now), ECSResource/OSSResource by
// instance ID, ECSBill/OSSBill by instance ID (its latest bill).
func (c *Contract) seedRead(ctx contractapi.TransactionContextInterface, kind, ref string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read")
	if err != nil {
		return "", err
	}
	switch kind {
	case "quota":
		if err := checkID("ref", ref); err != nil {
			return "", errf("ref must be provider/consumer or a quota ID of initInitialQuota for kind quota, got %q", ref)
		}
		var q seedQuotaRef
		if ok, err := t.getJSON(key(pfxSeedQuota, ref), &q); err != nil {
			return "", err
		} else if !ok {
			return "", notFound("ref %s names no quota: it is neither provider/consumer nor a quota ID given to initInitialQuota", ref)
		}
		return c.QuotaGet(ctx, q.Provider, q.Consumer)
	case "price":
		provider, err := orgByName(cons, "ref", ref)
		if err != nil {
			return "", err
		}
		return c.PriceGet(ctx, provider, "ecs", "")
	}
	typ := "ecs"
	if strings.HasPrefix(kind, "OSS") {
		typ = "obs"
	}
	r, err := t.loadResource(ref)
	if err != nil {
		return "", err
	}
	if err := t.party("resource "+r.ID, r.Provider, r.Consumer); err != nil {
		return "", err
	}
	if r.Type != typ {
		return "", errf("ref %s is a resource of type %s, not %s (kind %s)", r.ID, r.Type, typ, kind)
	}
	if strings.HasSuffix(kind, "Resource") {
		return c.ResourceGet(ctx, ref)
	}
	if r.Bills == 0 {
		return "", notFound("resource %s has no bill yet", r.ID)
	}
	return c.BillGet(ctx, model.BillID(r.ID, r.Bills))
}

// mustJSON encodes a map the contract built (strings and integers only).
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // unreachable: maps of strings to strings, integers or such maps
	}
	return string(b)
}
