// Command ecs is the standard billing rule for cloud servers (resource type
// "ecs"), built into a Wasm module with `make rules`.
//
// A server is billed for holding its resources over the period, per second, at
// the provider's hourly unit prices:
//
//	resource.spec           price.unit_prices   line
//	vcpu                    vcpu_hour           vcpu         (unit vcpu_second)
//	memory_gib              memory_gib_hour     memory       (unit gib_second)
//	system_disk_gib         disk_gib_hour       system_disk  (unit gib_second)
//	data_disk_gib           disk_gib_hour       data_disk    (unit gib_second)
//	public_ips              public_ip_hour      public_ip    (unit ip_second)
//
// With s = period.end - period.start seconds, each line is
//
//	quantity = size × s
//	amount   = round_half_up(price × size × s / 3600)
//
// computed exactly (128-bit intermediate). Each line is rounded on its own,
// half away from zero, and the total is the sum of the rounded lines. A size
// of 0 (or absent) gives no line; its price must still be in the price book,
// so that a price book missing a price is caught on every bill.
//
// Usage: egress_gib, the GiB sent out over the period, is billed at the price
// egress_gib per GiB, exactly (line "egress", unit gib, with unit_price); that
// price is needed only when there is egress. cpu_seconds is accepted and not
// billed (it is informational: a server is billed for holding its vCPUs).
//
// Refused with a rule error: a missing or negative price ("missing_price",
// "negative_price"), a negative size or usage ("negative_quantity"), a spec
// key not in the table ("unknown_spec"), any other usage metric
// ("unknown_metric": usage the rule would leave unbilled), a period that does
// not end after it starts ("bad_period"), and any amount or quantity beyond
// int64 ("overflow").
package main

import (
	"github.com/fedmeter/fedmeter/sdk-rules/money"
	"github.com/fedmeter/fedmeter/sdk-rules/rule"
)

type item struct {
	spec, price, line, unit string
}

var items = [...]item{
	{"vcpu", "vcpu_hour", "vcpu", "vcpu_second"},
	{"memory_gib", "memory_gib_hour", "memory", "gib_second"},
	{"system_disk_gib", "disk_gib_hour", "system_disk", "gib_second"},
	{"data_disk_gib", "disk_gib_hour", "data_disk", "gib_second"},
	{"public_ips", "public_ip_hour", "public_ip", "ip_second"},
}

// Bill is the rule's function.
func Bill(in *rule.Input) (*rule.Bill, error) {
	if err := in.KnownSpec("vcpu", "memory_gib", "system_disk_gib", "data_disk_gib", "public_ips"); err != nil {
		return nil, err
	}
	if err := in.KnownMetrics("egress_gib", "cpu_seconds"); err != nil {
		return nil, err
	}
	seconds, err := in.Seconds()
	if err != nil {
		return nil, err
	}
	b := rule.NewBill(in)
	for _, it := range items {
		price, err := in.UnitPrice(it.price)
		if err != nil {
			return nil, err
		}
		size, err := in.Spec(it.spec)
		if err != nil {
			return nil, err
		}
		if size == 0 {
			continue
		}
		quantity, err := money.Mul(size, seconds)
		if err != nil {
			return nil, rule.Wrap(err, it.line+" quantity ("+it.spec+" × seconds)")
		}
		hourly, err := money.Mul(price, size)
		if err != nil {
			return nil, rule.Wrap(err, it.line+" hourly amount ("+it.price+" × "+it.spec+")")
		}
		amount, err := money.Prorate(hourly, seconds, 3600, money.HalfUp)
		if err != nil {
			return nil, rule.Wrap(err, it.line+" amount")
		}
		if err := b.Add(rule.Line{Item: it.line, Quantity: quantity, Unit: it.unit, Amount: amount}); err != nil {
			return nil, err
		}
	}
	if _, err := in.Metric("cpu_seconds"); err != nil {
		return nil, err
	}
	egress, err := in.Metric("egress_gib")
	if err != nil || egress == 0 {
		return b, err
	}
	price, err := in.UnitPrice("egress_gib")
	if err != nil {
		return nil, err
	}
	amount, err := money.Mul(egress, price)
	if err != nil {
		return nil, rule.Wrap(err, "egress amount (egress_gib × price)")
	}
	if err := b.Add(rule.Line{Item: "egress", Quantity: egress, Unit: "gib", UnitPrice: price, Amount: amount}); err != nil {
		return nil, err
	}
	return b, nil
}

func init() { rule.Register(Bill) }

func main() {}
