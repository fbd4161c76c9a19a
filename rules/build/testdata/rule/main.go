// A minimal rule for the build package's tests.
package main

import "github.com/fedmeter/fedmeter/sdk-rules/rule"

func init() {
	rule.Register(func(in *rule.Input) (*rule.Bill, error) { return rule.NewBill(in), nil })
}

func main() {}
