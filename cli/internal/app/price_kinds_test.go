package app

import (
	"strings"
	"testing"
)

// TestPriceParameters: a price book with tiers prints its tier bounds, free
// allowances and listed parameters as plain quantities, and its prices as
// money; a book without parameters prints as before.
func TestPriceParameters(t *testing.T) {
	dir := t.TempDir()
	at := func(t string, rest string) []string { return append([]string{"--at", t}, a(rest)...) }
	const T0 = "2026-01-01T00:00:00Z"
	play(t, dir, map[string]string{}, []step{
		{name: "init", args: at("2025-12-31T22:00:00Z", "init")},
		{name: "unknown parameter", args: at(T0, "--as Org1/Admin price set storage --currency EUR --scale 2 tier1_gib_month=2 --parameter package_gib"),
			code: 1, err: []string{`prices.parameters names "package_gib", which is not in prices.unit_prices`}},
		{name: "json and --parameter", args: append(at(T0, "--as Org1/Admin price set storage --parameter a --json"), `{"currency":"EUR","scale":2,"unit_prices":{"a":1}}`),
			code: 1, err: []string{"--json gives the whole entry"}},
		{name: "tiered book", args: at(T0, "--as Org1/Admin price set storage --currency EUR --scale 2 tier1_gib_month=2 tier1_upto_gib_month=100 tier2_gib_month=1 free_gib_month=5 package_gib=500 --parameter package_gib")},
		{name: "bandwidth json", args: append(at(T0, "--as Org1/Admin price set bandwidth --json"), `{"currency":"EUR","scale":2,"unit_prices":{"tier1_gib":9,"package_gib":100,"package_price":500},"parameters":["package_gib"]}`)},
		{name: "plain book", args: at(T0, "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 egress_gib=80")},
	})

	get := fedmeterTTY(false, dir, "", "price", "get", "Org1MSP", "storage")
	for _, want := range []string{
		"  tier1_gib_month  0.02 EUR  2",
		"  tier2_gib_month  0.01 EUR  1",
		"  PARAMETER             QUANTITY (not money)",
		"  free_gib_month        5",
		"  package_gib           500",
		"  tier1_upto_gib_month  100",
	} {
		if !strings.Contains(get.out, want) {
			t.Errorf("price get lacks %q:\n%s", want, get.out)
		}
	}
	for _, bad := range []string{"1.00 EUR", "5.00 EUR", "0.05 EUR"} {
		if strings.Contains(get.out, bad) {
			t.Errorf("price get shows a parameter as money (%s):\n%s", bad, get.out)
		}
	}

	list := fedmeterTTY(false, dir, "", "price", "list")
	for _, want := range []string{
		"tier1_gib_month=2 tier2_gib_month=1 (EUR, scale 2); parameters free_gib_month=5 package_gib=500 tier1_upto_gib_month=100",
		"package_price=500 tier1_gib=9 (EUR, scale 2); parameters package_gib=100",
		"egress_gib=80 vcpu_hour=12 (CNY, scale 2)",
	} {
		if !strings.Contains(list.out, want) {
			t.Errorf("price list lacks %q:\n%s", want, list.out)
		}
	}
	hist := fedmeterTTY(false, dir, "", "price", "history", "Org1MSP", "storage")
	if !strings.Contains(hist.out, "; parameters free_gib_month=5 package_gib=500 tier1_upto_gib_month=100") {
		t.Errorf("price history:\n%s", hist.out)
	}

	// Without parameters: the table and line as before.
	plain := fedmeterTTY(false, dir, "", "price", "get", "Org1MSP", "ecs")
	if strings.Contains(plain.out, "PARAMETER") || !strings.Contains(plain.out, "  vcpu_hour   0.12 CNY  12") {
		t.Errorf("price get of a book without parameters:\n%s", plain.out)
	}
	if js := fedmeterTTY(false, dir, "", "-o", "json", "price", "get", "Org1MSP", "ecs"); strings.Contains(js.out, "parameters") {
		t.Errorf("a book without parameters has a parameters field:\n%s", js.out)
	}
}
