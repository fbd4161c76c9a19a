package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode"
)

// Bill lines are the rule's; the CLI shows seconds in hours, the price a
// holding line works out at when exact, and the currency of the amounts.
func TestPrintLines(t *testing.T) {
	var b bytes.Buffer
	printLines(&printer{w: &b}, []chaincode.BillLine{
		{Item: "vcpu", Quantity: 172800, Unit: "vcpu_second", Amount: 576},
		{Item: "half", Quantity: 5400, Unit: "gib_second", Amount: 7},
		{Item: "odd", Quantity: 1000, Unit: "gib_second", Amount: 1},
		{Item: "egress", Quantity: 7, Unit: "gib", UnitPrice: 80, Amount: 560},
		{Item: "discount", Amount: -100},
	}, 1044, 2, "CNY")
	for _, want := range []string{
		"ITEM", "AMOUNT (CNY)",
		"48 vcpu_hour (172800 vcpu_second)", "= 0.12 per vcpu_hour", "5.76",
		"1.5 gib_hour (5400 gib_second)", "≈0.28 gib_hour (1000 gib_second)",
		"7 gib", "0.80 per gib",
		"-1.00", "10.44 CNY",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("lines lack %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "= 0.04") || strings.Contains(b.String(), "per gib_hour") {
		t.Errorf("a price that is not exact is shown:\n%s", b.String())
	}
}

// The contract's argument names are said as the command line's user knows
// them; other words, and the names inside IDs, stay.
func TestCLIWords(t *testing.T) {
	for _, c := range [][2]string{
		{"resource_id nope names no resource", "there is no resource nope"},
		{"u.json record 1: batch 1 of 1 was refused: resource: resource_id nope names no resource", "u.json record 1: batch 1 of 1 was refused: resource: there is no resource nope"},
		{"1 of 3 resources were not activated: nope (resource_id nope names no resource)", "1 of 3 resources were not activated: nope (there is no resource nope)"},
		{"bill_id nope:000001 names no bill", "there is no bill nope:000001"},
		{`bill_id "nope" is not valid`, `bill ID "nope" is not valid`},
		{`resource_types entry "seats" is not a resource type of the consortium catalog (known: ecs)`, `--types entry "seats" is not a resource type of the consortium catalog (known: ecs)`},
		{`resource_type "vm" is not a resource type`, `type "vm" is not a resource type`},
		{"effective_from 1769904000 is before the transaction time 1796662963", "--from 1769904000 is before the transaction time 1796662963"},
		{"metric cpu_seconds is not a metric of type ecs", "metric cpu_seconds is not a metric of type ecs"},
		{"my_resource_id x", "my_resource_id x"},
		{"Org1MSP has no price for type ecs in force at 1767225600; the provider publishes one with PriceSet", "Org1MSP has no price for type ecs in force at 1767225600; the provider publishes one with fedmeter price set"},
		{"by a vote (ConsortiumPropose upload.set members)", "by a vote (fedmeter member propose upload.set members)"},
	} {
		if got := cliWords(c[0]); got != c[1] {
			t.Errorf("cliWords(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}
