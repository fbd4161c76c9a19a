package rule

// Func is a billing rule: it turns the input into a bill, or refuses it with
// an error (see Error).
type Func func(in *Input) (*Bill, error)

var registered Func

// Register sets the rule's function. Call it once, from the rule's main
// package, in init or main:
//
//	func init() { rule.Register(Bill) }
//	func main() {}
//
// When the package is built for Wasm (GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared), this package exports the ABI v1 entry points and each
// fm_bill call runs the registered function through Run.
func Register(fn Func) { registered = fn }

// Registered returns the function passed to Register, or nil.
func Registered() Func { return registered }

// Run runs a rule natively exactly as its Wasm build does: decode the input
// JSON, call fn, validate and encode the bill (or the error) as canonical ABI
// v1 output JSON. Tests compare Run's bytes with the Wasm module's output.
//
// A panic in fn is not recovered: in Wasm it is a trap, which the host reports
// as host.ErrTrap. Report bad input with an error instead.
func Run(fn Func, input []byte) []byte {
	return run(fn, input, nil)
}

func run(fn Func, input []byte, dst []byte) []byte {
	if fn == nil {
		return AppendError(dst, CodeNoRule, "the module has no rule: call rule.Register in its main package")
	}
	in, err := DecodeInput(input)
	if err != nil {
		return AppendError(dst, ErrorCode(err), err.Error())
	}
	bill, err := fn(in)
	if err != nil {
		return AppendError(dst, ErrorCode(err), err.Error())
	}
	if bill == nil {
		return AppendError(dst, CodeInvalidBill, "the rule returned neither a bill nor an error")
	}
	if err := bill.check(); err != nil {
		return AppendError(dst, ErrorCode(err), err.Error())
	}
	return AppendBill(dst, bill)
}
