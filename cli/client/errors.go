package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
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
	// KindRule: a billing rule failed: refused at upload, failed to
	// prepare or to run (trap, out of gas, limit, bad output), billed in
	// another currency, or no runnable rule is active for the type.
	KindRule Kind = 4
	// KindMismatch: an offline recomputation disagrees with the ledger.
	KindMismatch Kind = 5
	// KindLedger: the ledger or the network failed: the gateway cannot be
	// reached or timed out, a transaction was not committed (an MVCC
	// conflict), the embedded ledger cannot be opened, the ledger holds
	// what the contract cannot read (another key layout, a corrupt value).
	KindLedger Kind = 6
	// KindInternal: a fault of fedmeter itself or of the machine it runs
	// on: a file or folder cannot be written, a result cannot be decoded, a
	// refusal carries no code, a panic. A bug to report unless the cause
	// (a full disk, a read-only folder) says otherwise.
	KindInternal Kind = 7
	// KindBusy: another process holds the embedded ledger for writing and
	// the wait ran out; nothing was done. Try again.
	KindBusy Kind = 8
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
		return "rule"
	case KindMismatch:
		return "mismatch"
	case KindLedger:
		return "ledger"
	case KindInternal:
		return "internal"
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
	// Code is the contract's refusal code, when the contract refused
	// (model.Code: "bad_argument", "conflict", ...); empty for errors of
	// the client, the network or the ledger. It tells apart refusals of
	// one Kind: a conflict from a bad argument, a non-member from a
	// denied role.
	Code model.Code
	// at locates the refused record of a usage batch (SubmitUsage).
	at *model.Element
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
// KindInternal (an error no function of this package classified).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// codeKinds maps the contract's refusal codes to kinds: the whole of the
// classification. The message is never read.
var codeKinds = map[model.Code]Kind{
	model.CodeBadArgument:   KindInvalid,
	model.CodeConflict:      KindInvalid,
	model.CodeQuotaExceeded: KindInvalid,
	model.CodeUnsupported:   KindInvalid,
	model.CodeNotFound:      KindNotFound,
	model.CodeNotMember:     KindDenied,
	model.CodeDenied:        KindDenied,
	model.CodeRuleFailed:    KindRule,
	model.CodeLedger:        KindLedger,
	model.CodeInternal:      KindInternal,
}

// RefusalError is the *Error for the contract's refusal of transaction op,
// msg being the failed response's message (model.Refusal's wire form): the
// refusal's code gives the Kind; the message is never read. A Backend of
// another package (the embedded ledger's) reports refusals with it.
func RefusalError(op, msg, txID string, cause error) *Error {
	return contractError(op, msg, txID, cause)
}

func contractError(op, msg, txID string, cause error) *Error {
	msg = strings.TrimSpace(msg)
	r, ok := model.DecodeRefusal(msg)
	if !ok {
		return &Error{Kind: KindInternal, Op: op, TxID: txID, Err: cause,
			Msg:  fmt.Sprintf("the contract refused %s without a refusal code: %s", op, strings.TrimSuffix(msg, ".")),
			Hint: "this fedmeter build and the deployed chaincode differ; use matching releases"}
	}
	kind, known := codeKinds[r.Code]
	if !known {
		kind = KindInternal
	}
	e := &Error{Kind: kind, Code: r.Code, Op: op, Msg: strings.TrimSuffix(r.Msg, "."), TxID: txID, Err: cause, at: r.At}
	switch r.Code {
	case model.CodeUnsupported:
		e.Msg = fmt.Sprintf("the contract on the ledger refused %s: %s", op, e.Msg)
		e.Hint = "this fedmeter build and the deployed chaincode differ; use matching releases"
	case model.CodeLedger:
		e.Hint = "if the ledger was made by another fedmeter release, there is no migration between key layouts: start a new ledger or deploy the contract of the ledger's release"
	case model.CodeInternal:
		e.Hint = "a fault in the contract; please report it with the transaction ID"
	}
	return e
}

// errText is an underlying error's text for use inside one of our
// sentences: its first line, without a trailing period.
func errText(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}
