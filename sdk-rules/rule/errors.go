package rule

// Error codes the SDK produces. A rule may use its own codes too: any
// non-empty string of lower-case words is fine.
const (
	// CodeBadInput: the input is not valid ABI v1 JSON (syntax, a float where
	// an integer belongs, a duplicate key, a missing required field).
	CodeBadInput = "bad_input"
	// CodeUnsupportedABI: the input's "abi" is not 1.
	CodeUnsupportedABI = "unsupported_abi"
	// CodeMissingPrice: the price book entry lacks a unit price the rule needs.
	CodeMissingPrice = "missing_price"
	// CodeNegativePrice: a unit price the rule uses is negative.
	CodeNegativePrice = "negative_price"
	// CodeBadPriceBook: the price book's entries contradict each other (tier
	// bounds out of order, two pricing schemes at once, a percentage above 100).
	CodeBadPriceBook = "bad_price_book"
	// CodeNegativeQuantity: a usage, spec or quota value the rule uses is negative.
	CodeNegativeQuantity = "negative_quantity"
	// CodeUnknownMetric: the usage holds a metric the rule does not bill.
	CodeUnknownMetric = "unknown_metric"
	// CodeUnknownSpec: the resource spec holds a size the rule does not bill.
	CodeUnknownSpec = "unknown_spec"
	// CodeBadPeriod: the period does not end after it starts.
	CodeBadPeriod = "bad_period"
	// CodeOverflow: an amount or quantity does not fit in int64.
	CodeOverflow = "overflow"
	// CodeInvalidBill: the rule's own output breaks ABI v1 (lines that do not
	// sum to the total, a negative total, an empty item): a bug in the rule.
	CodeInvalidBill = "invalid_bill"
	// CodeNoRule: the module was built without calling Register.
	CodeNoRule = "no_rule"
	// CodeRuleError is the code of an error that carries none.
	CodeRuleError = "rule_error"
)

// Error is a rule error: the rule refuses its input and says why. Returned
// from a rule's function (directly or wrapped), it becomes the ABI error output
// {"error":{"code":Code,"message":Message}}. Any other error becomes code
// "rule_error" with the error's text as message, unless something in its
// chain (errors.Unwrap) has an ErrorCode() string method, like the errors of
// the money package, whose code is then used.
type Error struct {
	Code    string
	Message string
}

// Error returns the message; the code is kept apart (see ErrorCode).
func (e *Error) Error() string { return e.Message }

// ErrorCode returns e.Code.
func (e *Error) ErrorCode() string { return e.Code }

// NewError returns a rule error with the given code and message.
func NewError(code, message string) *Error { return &Error{Code: code, Message: message} }

// Wrap prefixes err's message with context ("vcpu: ...") and keeps its code.
// It returns nil for a nil err.
func Wrap(err error, context string) error {
	if err == nil {
		return nil
	}
	return &Error{Code: ErrorCode(err), Message: context + ": " + err.Error()}
}

type coder interface{ ErrorCode() string }

type unwrapper interface{ Unwrap() error }

// ErrorCode returns the code the error output of err carries: the first
// ErrorCode() in err's Unwrap chain, or CodeRuleError.
func ErrorCode(err error) string {
	for e := err; e != nil; {
		if c, ok := e.(coder); ok {
			if code := c.ErrorCode(); code != "" {
				return code
			}
		}
		u, ok := e.(unwrapper)
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return CodeRuleError
}
