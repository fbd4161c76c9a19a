package rule_test

import (
	"fmt"

	"github.com/fedmeter/fedmeter/sdk-rules/money"
	"github.com/fedmeter/fedmeter/sdk-rules/rule"
)

// A whole rule: a per-second price for holding a number of seats.
func Example() {
	bill := func(in *rule.Input) (*rule.Bill, error) {
		seconds, err := in.Seconds()
		if err != nil {
			return nil, err
		}
		price, err := in.UnitPrice("seat_hour")
		if err != nil {
			return nil, err
		}
		seats, err := in.Spec("seats")
		if err != nil {
			return nil, err
		}
		hourly, err := money.Mul(price, seats)
		if err != nil {
			return nil, rule.Wrap(err, "seats")
		}
		amount, err := money.Prorate(hourly, seconds, 3600, money.HalfUp)
		if err != nil {
			return nil, rule.Wrap(err, "seats")
		}
		b := rule.NewBill(in)
		err = b.Add(rule.Line{Item: "seats", Quantity: seats, Unit: "seat", Amount: amount})
		return b, err
	}
	// In the rule's main package: func init() { rule.Register(bill) }.
	// Run is what the Wasm build does for each call:
	input := `{"abi":1,"currency":"EUR","scale":2,"period":{"start":0,"end":5400},` +
		`"price":{"unit_prices":{"seat_hour":40}},"resource":{"spec":{"seats":3}}}`
	fmt.Println(string(rule.Run(bill, []byte(input))))

	// Bad input is a rule error, not a wrong bill:
	input = `{"abi":1,"currency":"EUR","scale":2,"period":{"start":0,"end":5400},"resource":{"spec":{"seats":3}}}`
	fmt.Println(string(rule.Run(bill, []byte(input))))
	// Output:
	// {"total":180,"currency":"EUR","scale":2,"lines":[{"item":"seats","quantity":3,"unit":"seat","amount":180}]}
	// {"error":{"code":"missing_price","message":"no unit price for \"seat_hour\" in the price book entry"}}
}
