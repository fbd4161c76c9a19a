package client

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Kind says what went wrong, in the terms a script acts on. Its value is the
// exit code of the fedmeter command (see ExitCode).
type Kind int

// Kinds of Error. The numbers are the fedmeter command's exit codes.
const (
	// KindInvalid: the input was refused (a malformed argument or file, a
	// state that does not allow the operation, an unknown command).
	KindInvalid Kind = 1
	// KindNotFound: an ID, hash or key names nothing on the ledger.
	KindNotFound Kind = 2
	// KindDenied: the identity may not do this (wrong org, not an admin,
	// not a member).
	KindDenied Kind = 3
	// KindRule: a billing rule failed (to prepare, to run, or to bill in the
	// right currency), or the ledger or the network failed.
	KindRule Kind = 4
	// KindMismatch: an offline recomputation disagrees with the ledger.
	KindMismatch Kind = 5
	// KindBusy: another process holds the embedded ledger for writing and
	// the wait (--wait) ran out; nothing was done. Try again.
	KindBusy Kind = 6
)

// String names the kind ("invalid", "not_found", ...), as in JSON errors.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindDenied:
		return "denied"
	case KindRule:
		return "rule_or_ledger"
	case KindMismatch:
		return "mismatch"
	case KindBusy:
		return "busy"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is what every function of this package returns when it fails: one
// sentence (Msg) that names the field or ID at fault, a Kind, and, where one
// helps, a Hint saying what to do next.
type Error struct {
	Kind Kind
	// Op is the contract transaction or the local operation that failed.
	Op string
	// Msg is one sentence, without a trailing period.
	Msg string
	// Hint is what to try next; may be empty.
	Hint string
	// TxID is the transaction's ID, when the ledger assigned one.
	TxID string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode is the fedmeter command's exit code for this error.
func (e *Error) ExitCode() int { return int(e.Kind) }

// Errorf returns an *Error of kind k.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// WithHint sets the hint and returns e.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// KindOf returns the Kind of err: the Kind of an *Error in its chain, else
// KindRule (an unexpected failure of the ledger or the network).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindRule
}

// Contract refusals are one sentence naming the field; their wording tells
// the kind. These patterns follow chaincode/README.md's conventions.
var (
	reDenied   = regexp.MustCompile(`(^|[:;] )only [^;]*\bmay\b`)
	reNotFound = regexp.MustCompile(`\bnames no\b|\bdoes not exist\b|\bhas no quota from\b|\bhas no price for type\b|\bis not initialized yet\b`)
	reRule     = regexp.MustCompile(`^rule .*(failed|ran out of gas|trapped|returned a bad output|refused the input|hit a limit|billed in)|^module was rejected by the host|\bno longer prepares\b|\bprepares to\b|^no rule is active for type|was revoked; an admin activates`)
	// contractapi's own refusals: the CLI and the contract disagree.
	reAPI = regexp.MustCompile(`^Function .* not found in contract|^Incorrect number of params|^Error managing parameter`)
)

// contractError classifies the contract's refusal message of transaction op.
func contractError(op, msg, txID string, cause error) *Error {
	msg = strings.TrimSpace(msg)
	e := &Error{Kind: KindInvalid, Op: op, Msg: strings.TrimSuffix(msg, "."), TxID: txID, Err: cause}
	switch {
	case reAPI.MatchString(msg):
		e.Kind = KindInvalid
		e.Msg = fmt.Sprintf("the contract on the ledger refused %s: %s", op, e.Msg)
		e.Hint = "this fedmeter build and the deployed chaincode differ; use matching releases"
	case strings.Contains(msg, "it was made by another version of fedmeter"):
		e.Kind = KindRule
		e.Hint = "the ledger and the contract are of different fedmeter releases, and there is no migration between key layouts: start a new ledger (embedded: fedmeter init with a new --data folder) or deploy the contract of the ledger's release"
	case reDenied.MatchString(msg) || strings.Contains(msg, "is not a member of the consortium; "):
		e.Kind = KindDenied
		e.Hint = "run it as another identity with --as ORG/USER (fedmeter org list shows the local ones)"
	case reNotFound.MatchString(msg):
		e.Kind = KindNotFound
	case reRule.MatchString(msg):
		e.Kind = KindRule
	}
	return e
}
