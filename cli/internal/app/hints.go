package app

import (
	"errors"
	"regexp"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/verify"
)

// cliHint gives err the command line's hint where the client library's
// speaks to an app (an option, a method): chosen by the error's Kind, its
// contract refusal Code and its Op (the transaction, or the library's local
// operation: "LoadConfig", "identity", "UsageSubmit"), never by its wording.
// A hint that a command set itself is kept.
func cliHint(err error) {
	var e *client.Error
	if !errors.As(err, &e) {
		return
	}
	defer func() { e.Msg = cliWords(e.Msg) }()
	switch {
	case isTypeRefusal(e) && e.Hint == "":
		e.Hint = `the consortium's catalog holds the types (fedmeter member list); the members add one by a vote: fedmeter --as ORG/Admin member propose type '{"name":"TYPE","spec":["FIELD"],"metrics":[]}', then each admin: fedmeter --as ORG/Admin member vote approve PROPOSAL`
	case e.Kind == client.KindBusy:
		e.Hint = "wait for the other fedmeter command to finish, or give --wait DURATION (e.g. --wait 10m) to wait for it"
	case e.Op == "LoadConfig" && e.Kind == client.KindNotFound:
		e.Hint = "create one with `fedmeter init`, or point --data (or FEDMETER_DATA) at an existing one"
	case e.Op == "identity":
		e.Hint = "--as names a local identity, ORG/USER; `fedmeter org list` shows them, `fedmeter org add` creates an org"
	case e.Op == "UsageSubmit" && e.Kind == client.KindDenied:
		e.Hint = "usage is submitted by an identity of the resource's provider, e.g. --as Org1/Agent1"
	case e.Kind == client.KindMismatch && e.Code == "" && e.Op != "" && e.Op != "VerifyBill":
		// The embedded ledger refused to run a transaction on altered data.
		e.Hint = "fedmeter ledger verify names the first altered block or record; restore the ledger folder from a copy"
	case e.Op == "UsageSubmit":
		e.Hint = "fix the record and run the same command again: records already on the ledger are skipped as duplicates, nothing is counted twice"
	case (e.Code == model.CodeNotMember || e.Code == model.CodeDenied) && e.Hint == "":
		e.Hint = "run it as another identity with --as ORG/USER (fedmeter org list shows the local ones)"
	}
}

// verifyErr is bill verify's outcome: nil, or the mismatch with the
// command's hint.
func verifyErr(v *verify.Verification) error {
	err := v.Err()
	var e *client.Error
	if errors.As(err, &e) {
		for _, c := range v.Checks {
			if !c.OK && c.Name != "ledger data" {
				e.Hint = "the ledger and the rule's code disagree; compare the rebuilt input (--output json) with what the contract used, and report it to the members"
				break
			}
		}
	}
	return err
}

// isTypeRefusal reports whether the contract refused a resource type
// argument (resource_type, or an entry of a rule's resource_types): the
// argument a bad_argument refusal names first.
func isTypeRefusal(e *client.Error) bool {
	if e.Code != model.CodeBadArgument {
		return false
	}
	return strings.HasPrefix(e.Msg, "resource_type ") || strings.HasPrefix(e.Msg, "resource_types entry ")
}

// The contract's refusals name the argument at fault by its name in the
// transaction (resource_id, bill_id, ...); the command line says it as a
// user of the command knows it. The wire message and the refusal code stay
// the contract's; only what is printed changes.
var (
	reNamesNo = regexp.MustCompile(`\b(resource|bill|proposal|quota)_id (\S+) names no (resource|bill|proposal|quota)\b`)
	reArgWord = regexp.MustCompile(`(^|[ ("'])([a-z]+(?:_[a-z]+)+) `)
	argWords  = map[string]string{
		"resource_types": "--types",
		"resource_type":  "type",
		"resource_id":    "resource ID",
		"bill_id":        "bill ID",
		"proposal_id":    "proposal ID",
		"quota_id":       "quota ID",
		"instance_id":    "instance ID",
		"code_hash":      "rule hash",
		"prepared_hash":  "prepared hash",
		"user_code":      "user code",
		"provider_code":  "provider code",
		"network_type":   "network type",
		"effective_from": "--from",
	}
)

// The transactions a refusal points to, as the commands that run them.
var (
	reTxName = regexp.MustCompile(`\b(PriceSet|QuotaSet|RuleActivate|BillClose|ConsortiumInit|ConsortiumPropose)\b`)
	txWords  = map[string]string{
		"PriceSet":          "fedmeter price set",
		"QuotaSet":          "fedmeter quota set",
		"RuleActivate":      "fedmeter rule activate",
		"BillClose":         "fedmeter bill close",
		"ConsortiumInit":    "fedmeter init",
		"ConsortiumPropose": "fedmeter member propose",
	}
)

// cliWords rephrases the contract's argument and transaction names in msg.
func cliWords(msg string) string {
	msg = reTxName.ReplaceAllStringFunc(msg, func(m string) string { return txWords[m] })
	msg = reNamesNo.ReplaceAllStringFunc(msg, func(m string) string {
		sm := reNamesNo.FindStringSubmatch(m)
		if sm[1] != sm[3] {
			return m
		}
		return "there is no " + sm[3] + " " + sm[2]
	})
	return reArgWord.ReplaceAllStringFunc(msg, func(m string) string {
		sm := reArgWord.FindStringSubmatch(m)
		if w, ok := argWords[sm[2]]; ok {
			return sm[1] + w + " "
		}
		return m
	})
}
