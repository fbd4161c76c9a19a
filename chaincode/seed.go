package chaincode

import (
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// The seed prototype's function names, kept as thin aliases. The router
// upper-cases a function name's first letter, so "initPrice" reaches
// InitPrice. The arguments are fedmeter's (orgs are MSP IDs, sizes and prices
// are named in JSON objects), not the prototype's positional lists, whose
// meaning the seed does not document; chaincode/README.md maps each.

// InitInitialQuota is the seed's name for QuotaSet(consumer, limits).
func (c *Contract) InitInitialQuota(ctx contractapi.TransactionContextInterface, consumer, limits string) (string, error) {
	return c.QuotaSet(ctx, consumer, limits)
}

// InitPrice is the seed's name for PriceSet(resourceType, prices, "") (prices
// in force from now).
func (c *Contract) InitPrice(ctx contractapi.TransactionContextInterface, resourceType, prices string) (string, error) {
	return c.PriceSet(ctx, resourceType, prices, "")
}

// ReadResource is the seed's generic reader: kind "quota" (ref
// provider/consumer), "price" (ref provider/type, in force now), "resource"
// (ref resource ID), "bill" (ref bill ID) or "rule" (ref hash or
// name@version), with the access rules of QuotaGet, PriceGet, ResourceGet,
// BillGet and RuleGet.
func (c *Contract) ReadResource(ctx contractapi.TransactionContextInterface, kind, ref string) (string, error) {
	a, b, two := strings.Cut(ref, "/")
	switch kind {
	case "quota", "price":
		if !two {
			want := "provider/consumer"
			if kind == "price" {
				want = "provider/type"
			}
			return "", errf("ref must be %s for kind %s, got %q", want, kind, ref)
		}
		if kind == "quota" {
			return c.QuotaGet(ctx, a, b)
		}
		return c.PriceGet(ctx, a, b, "")
	case "resource":
		return c.ResourceGet(ctx, ref)
	case "bill":
		return c.BillGet(ctx, ref)
	case "rule":
		return c.RuleGet(ctx, ref)
	}
	return "", errf("kind %q is not valid: it must be quota, price, resource, bill or rule", kind)
}

// InitECSResource is the seed's name for ResourceRequest of type "ecs":
// (id, provider, spec, days).
func (c *Contract) InitECSResource(ctx contractapi.TransactionContextInterface, id, provider, spec, days string) (string, error) {
	return c.ResourceRequest(ctx, id, provider, "ecs", spec, days, "")
}

// BilledECS is the seed's name for ResourceRelease: release and bill.
func (c *Contract) BilledECS(ctx contractapi.TransactionContextInterface, resourceID string) (string, error) {
	return c.ResourceRelease(ctx, resourceID)
}

// QueryProviderBill is the seed's name for BillListByProvider over all time,
// first page (pageSize and bookmark as BillListByProvider).
func (c *Contract) QueryProviderBill(ctx contractapi.TransactionContextInterface, provider, pageSize, bookmark string) (string, error) {
	return c.BillListByProvider(ctx, provider, "", "", pageSize, bookmark)
}

// QueryProviderTotalCost returns the provider's receivable totals per
// consumer and currency over all time. The provider's identities only.
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
