package chaincode

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// signatures names each transaction's arguments, in order: what the router
// checks a call's argument count against (contractapi itself refuses too few
// with "incorrect number of params" and silently drops surplus ones) and
// what its refusal quotes. TestSignatures holds the table to the methods of
// *Contract: every transaction has an entry, with as many names as the
// method has string parameters, and the names are the method's parameter
// names in snake case.
var signatures = map[string][]string{
	"ConsortiumInit":         {"members", "policy", "types"},
	"ConsortiumGet":          {},
	"TypeList":               {},
	"ConsortiumPropose":      {"kind", "value", "reason"},
	"ConsortiumVote":         {"proposal_id", "decision"},
	"ProposalGet":            {"proposal_id"},
	"ProposalList":           {"status", "page_size", "bookmark"},
	"RuleUpload":             {"name", "version", "resource_types", "author", "description", "module"},
	"RuleVote":               {"name", "version", "code_hash", "decision"},
	"RuleActivate":           {"resource_type", "code_hash", "effective_from"},
	"RuleRevoke":             {"code_hash", "reason"},
	"RuleRevokeVote":         {"code_hash", "decision"},
	"RuleGet":                {"ref"},
	"RuleStatus":             {"ref"},
	"RuleList":               {"page_size", "bookmark"},
	"RuleCode":               {"code_hash"},
	"RuleHistory":            {"code_hash"},
	"RuleActivations":        {"resource_type"},
	"PriceSet":               {"resource_type", "prices", "effective_from"},
	"PriceGet":               {"provider", "resource_type", "at"},
	"PriceHistory":           {"provider", "resource_type"},
	"PriceList":              {"provider", "page_size", "bookmark"},
	"QuotaSet":               {"consumer", "limits"},
	"QuotaGet":               {"provider", "consumer"},
	"ResourceRequest":        {"id", "provider", "resource_type", "spec", "days", "attributes"},
	"ResourceRequestMany":    {"ids", "provider", "resource_type", "spec", "days", "attributes"},
	"ResourceActivate":       {"resource_id"},
	"ResourceRelease":        {"resource_id"},
	"ResourceGet":            {"resource_id"},
	"ResourceList":           {"role", "status", "page_size", "bookmark"},
	"UsageSubmit":            {"records"},
	"UsageAdjust":            {"resource_id", "metric", "start", "end", "record_id", "quantity", "reason"},
	"UsageList":              {"resource_id", "page_size", "bookmark"},
	"BillClose":              {"resource_id", "end"},
	"BillGet":                {"bill_id"},
	"BillListByProvider":     {"provider", "from", "to", "page_size", "bookmark"},
	"BillListByConsumer":     {"consumer", "from", "to", "page_size", "bookmark"},
	"BillListByResource":     {"resource_id", "page_size", "bookmark"},
	"BillTotals":             {"from", "to"},
	"BillTotalsMonthly":      {"from", "months", "all_time"},
	"BillQuote":              {"provider", "resource_type", "spec", "usage", "start", "end", "code_hash"},
	"History":                {"kind", "ref"},
	"InitInitialQuota":       {"consumer", "limits"},
	"InitPrice":              {"resource_type", "prices"},
	"ReadResource":           {"kind", "ref"},
	"InitECSResource":        {"id", "provider", "spec", "days"},
	"BilledECS":              {"resource_id"},
	"QueryProviderBill":      {"provider", "page_size", "bookmark"},
	"QueryProviderTotalCost": {"provider"},

	// Settlement: re-rating, allocations, time bounds (rerate.go,
	// allocations.go, timebounds.go).
	"BillRerate":        {"resource_type", "resource_id", "from", "to", "reason"},
	"AllocationGrant":   {"consumer", "allocation_id", "amount", "currency", "scale", "valid_from", "valid_to", "hard_stop"},
	"AllocationTopUp":   {"consumer", "allocation_id", "amount"},
	"AllocationGet":     {"provider", "consumer", "allocation_id"},
	"AllocationList":    {"provider", "consumer"},
	"RuleActivateUntil": {"resource_type", "code_hash", "effective_from", "effective_to"},
	"QuotaSetWindow":    {"consumer", "limits", "valid_from", "valid_to"},

	// RuleUpload with the rule's provenance: a transaction of its own, as
	// contractapi refuses a call with fewer arguments than the method has,
	// so a seventh argument of RuleUpload would break its callers.
	"RuleUploadWithProvenance": {"name", "version", "resource_types", "author", "description", "module", "provenance"},

	// Settlement: statements and credit notes (statements.go, credits.go).
	"StatementIssue":       {"statement_id", "consumer", "currency", "from", "to"},
	"StatementGet":         {"statement_id"},
	"StatementList":        {"role", "status", "page_size", "bookmark"},
	"StatementBills":       {"statement_id", "page_size", "bookmark"},
	"StatementAcknowledge": {"statement_id"},
	"StatementDispute":     {"statement_id", "reason"},
	"StatementPay":         {"statement_id", "reference", "amount", "date"},
	"StatementConfirm":     {"statement_id", "reference"},
	"StatementVoid":        {"statement_id", "reason"},
	"BillCredit":           {"bill_id", "amount", "reason"},
}

// upperFirst is the router's toFirstRuneUpperCase: "initPrice" reaches
// InitPrice.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || unicode.IsUpper(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// splitCall splits a call's function name as the router does: "contract:fn"
// or "fn" for the default contract. ours reports whether it names this
// contract.
func splitCall(nsFn string) (fn string, ours bool) {
	i := strings.LastIndex(nsFn, ":")
	if i < 0 {
		return nsFn, true
	}
	return nsFn[i+1:], nsFn[:i] == ContractName
}

// describe is a signature as refusals quote it: "1 argument (bill_id)",
// "no arguments".
func describe(params []string) string {
	switch len(params) {
	case 0:
		return "no arguments"
	case 1:
		return "1 argument (" + params[0] + ")"
	}
	return fmt.Sprintf("%d arguments (%s)", len(params), strings.Join(params, ", "))
}

// checkArgCount refuses a call to a transaction of the contract with the
// wrong number of arguments, too many as well as too few (contractapi
// drops surplus positional arguments silently: the prototype's 13-argument
// initInitialQuota was read as QuotaSet of its first two). fn is the name
// as called; the seed's aliases also take the prototype's form (seedForms).
// A call the router would refuse as unknown, and calls of other contracts
// (contractapi's system contract), are left to the router.
func checkArgCount(fn string, n int) error {
	name := upperFirst(fn)
	params, ok := signatures[name]
	if !ok || len(params) == n {
		return nil
	}
	if sf, ok := seedForms[name]; ok {
		if len(sf.params) == n {
			return nil
		}
		return model.Refuse(model.CodeUnsupported, fmt.Sprintf("%s takes %s, or in the prototype's form %s, got %d", fn, describe(params), describe(sf.params), n))
	}
	return model.Refuse(model.CodeUnsupported, fmt.Sprintf("%s takes %s, got %d", fn, describe(params), n))
}
