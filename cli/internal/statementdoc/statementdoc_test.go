package statementdoc

import "fmt"

func ExampleParseAmount() {
	v, err := ParseAmount("amount", "82.5", 2)
	fmt.Println(v, err)
	_, err = ParseAmount("amount", "82.505", 2)
	fmt.Println(err)
	fmt.Println(Day(1767225600), Day(1767225601))
	// Output:
	// 8250 <nil>
	// amount "82.505" is not an amount: it has 3 decimals; the currency's scale allows 2
	// 2026-01-01 2026-01-01T00:00:01Z
}
