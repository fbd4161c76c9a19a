package model

import (
	"errors"
	"strconv"
	"strings"
)

// Code says why the contract refused a transaction, in terms a program acts
// on. The codes are stable: a message may be reworded, its code may not
// change without a reason in chaincode/README.md ("Refusal codes").
type Code string

// The refusal codes. Every error a transaction returns carries exactly one.
const (
	// CodeBadArgument: an argument is malformed, out of range or
	// inconsistent with another (a bad ID, a negative quantity, an unknown
	// type or metric, a batch too large).
	CodeBadArgument Code = "bad_argument"
	// CodeNotFound: an ID, hash or name refers to nothing on the ledger
	// (including a consortium not initialized yet, and no price or quota
	// between two orgs).
	CodeNotFound Code = "not_found"
	// CodeNotMember: the caller's org is not a member of the consortium.
	CodeNotMember Code = "not_member"
	// CodeDenied: the caller's org or role may not do this (not the
	// provider, not an admin, not a party to the bill).
	CodeDenied Code = "denied"
	// CodeConflict: the arguments are well formed but the ledger's state
	// does not allow the transaction now: the thing exists already, is in
	// the wrong status (not active, released, revoked, decided), a vote was
	// cast already, a record ID was used for other content.
	CodeConflict Code = "conflict"
	// CodeQuotaExceeded: a resource request exceeds the quota the provider
	// granted (or requests a spec field the quota does not grant).
	CodeQuotaExceeded Code = "quota_exceeded"
	// CodeRuleFailed: a billing rule was refused at upload, failed to
	// prepare or to run (trap, out of gas, limit, bad output, error), billed
	// in another currency, or no runnable rule is active for the type.
	CodeRuleFailed Code = "rule_failed"
	// CodeLedger: the ledger failed or holds what this contract cannot
	// read: a state read or write failed, a stored value is corrupt, the
	// ledger is in another key layout.
	CodeLedger Code = "ledger"
	// CodeUnsupported: the chaincode router refused the call before any
	// transaction ran (unknown transaction, wrong number or type of
	// arguments): the caller and the deployed contract are of different
	// releases.
	CodeUnsupported Code = "unsupported"
	// CodeInternal: a fault in the contract itself (a result that cannot be
	// encoded, an invariant broken). A bug to report.
	CodeInternal Code = "internal"
)

// Codes lists every code, in the order above.
var Codes = []Code{CodeBadArgument, CodeNotFound, CodeNotMember, CodeDenied, CodeConflict,
	CodeQuotaExceeded, CodeRuleFailed, CodeLedger, CodeUnsupported, CodeInternal}

// Known reports whether c is one of Codes.
func (c Code) Known() bool {
	for _, k := range Codes {
		if c == k {
			return true
		}
	}
	return false
}

// Refusal is an error of the contract: a code, one sentence, and for an
// element of a UsageSubmit batch, where it is.
//
// Its Error is the wire form, what crosses Fabric's gateway as the
// chaincode response's message:
//
//	[<code>] <message>
//	[<code> record=<i>] <message>
//	[<code> record=<i> row=<j> metric="<metric>"] <message>
//
// (row only inside a period table, metric only inside a period row or table;
// the metric is a Go-quoted string). DecodeRefusal reads it back.
type Refusal struct {
	Code Code
	// Msg is one sentence naming the argument at fault, without the prefix.
	Msg string
	// At locates the batch element the refusal is about, if any.
	At *Element
	// Err is the cause, for errors.Is in the same process; it does not
	// cross the wire.
	Err error
}

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// Refuse returns a Refusal of code c.
func Refuse(c Code, msg string) *Refusal { return &Refusal{Code: c, Msg: msg} }

// Error is the wire form (see Refusal).
func (r *Refusal) Error() string {
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(string(r.Code))
	if r.At != nil {
		b.WriteString(" record=")
		b.WriteString(strconv.Itoa(r.At.Record))
		if r.At.Row >= 0 {
			b.WriteString(" row=")
			b.WriteString(strconv.Itoa(r.At.Row))
		}
		if r.At.Metric != "" {
			b.WriteString(" metric=")
			b.WriteString(strconv.Quote(r.At.Metric))
		}
	}
	b.WriteString("] ")
	b.WriteString(r.Msg)
	return b.String()
}

// CodeOf is the code of the Refusal in err's chain, or "" if there is none.
func CodeOf(err error) Code {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

// MessageOf is the sentence of the Refusal in err's chain, without its
// code prefix, or err's own text if there is none.
func MessageOf(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Msg
	}
	return err.Error()
}

// DecodeRefusal reads a refusal's wire form (Refusal.Error) out of msg, the
// message of a failed chaincode response. ok is false when msg does not
// start with a well-formed prefix of a known code: a message that did not
// come from this contract (the peer, an older contract).
func DecodeRefusal(msg string) (r *Refusal, ok bool) {
	if !strings.HasPrefix(msg, "[") {
		return nil, false
	}
	rest := msg[1:]
	end := strings.IndexAny(rest, " ]")
	if end < 0 {
		return nil, false
	}
	r = &Refusal{Code: Code(rest[:end])}
	if !r.Code.Known() {
		return nil, false
	}
	rest = rest[end:]
	for strings.HasPrefix(rest, " ") {
		rest = rest[1:]
		name, after, found := strings.Cut(rest, "=")
		if !found {
			return nil, false
		}
		if r.At == nil {
			r.At = &Element{Row: -1}
		}
		switch name {
		case "record", "row":
			n := 0
			for n < len(after) && after[n] >= '0' && after[n] <= '9' {
				n++
			}
			v, err := strconv.Atoi(after[:n])
			if err != nil {
				return nil, false
			}
			if name == "record" {
				r.At.Record = v
			} else {
				r.At.Row = v
			}
			rest = after[n:]
		case "metric":
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return nil, false
			}
			if r.At.Metric, err = strconv.Unquote(q); err != nil {
				return nil, false
			}
			rest = after[len(q):]
		default:
			return nil, false
		}
	}
	if !strings.HasPrefix(rest, "] ") {
		return nil, false
	}
	r.Msg = rest[2:]
	return r, true
}

// Element locates a record in a UsageSubmit batch: the index of the
// argument's element (Record), the row inside a period table (Row, -1
// outside a table), and the metric inside a period row or table row
// (Metric, empty for a plain record).
type Element struct {
	Record int
	Row    int
	Metric string
}

// Label is how messages name the element: records[i], records[i]["<metric>"]
// inside a period row, records[i].rows[j]["<metric>"] inside a table.
func (e Element) Label() string {
	s := "records[" + strconv.Itoa(e.Record) + "]"
	if e.Row >= 0 {
		s += ".rows[" + strconv.Itoa(e.Row) + "]"
	}
	if e.Metric != "" {
		s += `["` + e.Metric + `"]`
	}
	return s
}
