package app

import (
	"errors"

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
	switch {
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
