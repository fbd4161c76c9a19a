package money_test

import (
	"fmt"

	"github.com/fedmeter/fedmeter/sdk-rules/money"
)

// A 2-vCPU server at 12 cents per vCPU-hour, held for 1 day and 20 minutes.
func ExampleProrate() {
	hourly, _ := money.Mul(12, 2)
	amount, _ := money.Prorate(hourly, 86400+1200, 3600, money.HalfUp)
	fmt.Println(amount)
	// Output: 584
}

// The four rounding modes on 2.5 and -2.5.
func ExampleMulDiv() {
	for _, m := range []money.RoundingMode{money.Down, money.Up, money.HalfUp, money.HalfEven} {
		pos, _ := money.MulDiv(5, 1, 2, m)
		neg, _ := money.MulDiv(-5, 1, 2, m)
		fmt.Println(m, pos, neg)
	}
	// Output:
	// down 2 -2
	// up 3 -3
	// half_up 3 -3
	// half_even 2 -2
}

// Overflow is an error, never a wrapped amount.
func ExampleMul() {
	_, err := money.Mul(1<<62, 4)
	fmt.Println(err)
	// Output: 4611686018427387904 × 4 overflows int64
}

// Graduated tiers: the first 100 units at 10, the next 900 at 8, the rest at 5.
func ExampleGraduated() {
	tiers := []money.Tier{{UpTo: 100, Price: 10}, {UpTo: 1000, Price: 8}, {UpTo: money.Unbounded, Price: 5}}
	bands, total, _ := money.Graduated(1500, tiers, 1, money.HalfUp)
	for _, b := range bands {
		fmt.Printf("tier %d: %d × %d = %d\n", b.Tier+1, b.Quantity, b.Price, b.Amount)
	}
	fmt.Println("total", total)
	// Output:
	// tier 1: 100 × 10 = 1000
	// tier 2: 900 × 8 = 7200
	// tier 3: 500 × 5 = 2500
	// total 10700
}

// Volume tiers: the tier the whole quantity reaches prices all of it.
func ExampleVolume() {
	tiers := []money.Tier{{UpTo: 100, Price: 10}, {UpTo: 1000, Price: 8}, {UpTo: money.Unbounded, Price: 5}}
	b, _ := money.Volume(1500, tiers, 1, money.HalfUp)
	fmt.Printf("tier %d: %d × %d = %d\n", b.Tier+1, b.Quantity, b.Price, b.Amount)
	// Output: tier 3: 1500 × 5 = 7500
}

// Packages of 100 GiB at 50.00 each: 250 GiB needs 3.
func ExamplePackage() {
	n, amount, _ := money.Package(250, 100, 5000)
	fmt.Println(n, amount)
	// Output: 3 15000
}
