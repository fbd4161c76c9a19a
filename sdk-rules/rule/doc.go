// Package rule is the SDK for writing fedmeter billing rules in Go.
//
// A rule is a main package that registers one function from *Input (the
// resource, its spec, the billing period, aggregated usage, the provider's
// unit prices, the quota, the currency and scale, the transaction) to *Bill
// (total, currency, scale, line items):
//
//	package main
//
//	import "github.com/fedmeter/fedmeter/sdk-rules/rule"
//
//	func Bill(in *rule.Input) (*rule.Bill, error) { ... }
//
//	func init() { rule.Register(Bill) }
//	func main() {}
//
// Built with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -ldflags=-buildid= -o rule.wasm .
//
// (or with the fedmeter repository's rules/build package, `make rules` or
// `fedmeter rule build`, which do exactly that), the package
// is a Wasm module that implements ABI v1 (host/ABI.md): this package exports
// fm_abi_v1, fm_alloc and fm_bill, decodes the input JSON, calls the function,
// and encodes the output. Run does the same natively, so a test can hold the
// two to the same bytes (the fedmeter repository's rules/ruletest does).
//
// Bad input is answered with an error, never a panic: the helpers UnitPrice,
// Metric, Spec, Seconds, KnownMetrics and KnownSpec return *Error values with
// codes like "missing_price", "negative_quantity", "unknown_metric" and
// "bad_period", and the money package's overflow-checked arithmetic returns
// errors with code "overflow". A returned error becomes the output
// {"error":{"code":...,"message":...}}. A panic is a trap, reported by the host
// as host.ErrTrap, and fails the call without a bill.
//
// This package and package money form the module
// github.com/fedmeter/fedmeter/sdk-rules, which needs nothing but the standard
// library: a rule's module pulls in no host, Fabric or ledger code.
//
// Money is int64 minor units (see package money). Named integers come as
// sorted slices (Quantities), so iteration order is the same everywhere.
//
// The guest path uses no reflection and no encoding/json: the JSON decoder
// and encoder are written for the fixed ABI v1 schema, which keeps a call fast
// and the package buildable with TinyGo.
package rule
