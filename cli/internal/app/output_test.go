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
