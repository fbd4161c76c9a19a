package model

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Everything the contract stores or returns is one of these types, encoded with
// encoding/json: struct fields in declaration order, map keys sorted, so the
// bytes are the same on every peer.

// Proposal kinds and states.
const (
	KindRuleApprove  = "rule.approve"
	KindRuleRevoke   = "rule.revoke"
	KindMemberAdd    = "member.add"
	KindMemberRemove = "member.remove"
	KindPolicySet    = "policy.set"
	KindTypeSet      = "type.set"
	KindUploadSet    = "upload.set"
	// KindMemberAlias binds other names of a member (the seed prototype's
	// org code and short name, such as "00001" and "CNIC") to its MSP ID.
	KindMemberAlias = "member.alias"

	ProposalOpen     = "open"
	ProposalApproved = "approved"
	ProposalRejected = "rejected"

	VoteApprove = "approve"
	VoteReject  = "reject"
)

// Values of the consortium's upload setting (Consortium.UploadAccess): who
// may upload rules.
const (
	// UploadAdmins: admins of member orgs only (the default).
	UploadAdmins = "admins"
	// UploadMembers: any identity of a member org.
	UploadMembers = "members"
)

// Rule states.
const (
	RuleProposed = "proposed"
	RuleApproved = "approved"
	RuleRejected = "rejected"
	RuleRevoked  = "revoked"
)

// Actor is who did something: the org (MSP ID) and the client's ID within it.
type Actor struct {
	MSP string `json:"msp"`
	ID  string `json:"id"`
}

// Stamp is when and in which transaction something happened.
type Stamp struct {
	Tx   string `json:"tx"`
	Time int64  `json:"time"`
}

// Policy is the consortium's approval policy.
type Policy struct {
	// Kind is "majority" (strictly more than half), "all", "any" or "threshold".
	Kind string `json:"kind"`
	// Threshold is the number of approvals, for Kind "threshold" only.
	Threshold int `json:"threshold,omitempty"`
}

// TypeDef is a resource type of the catalog: the spec fields a resource of the
// type may have and the usage metrics it may report.
type TypeDef struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Spec        []string `json:"spec"`
	Metrics     []string `json:"metrics"`
}

// String is the policy as ConsortiumInit and policy.set take it:
// "majority", "all", "any" or "threshold:N".
func (p Policy) String() string {
	if p.Kind == "threshold" {
		return "threshold:" + strconv.Itoa(p.Threshold)
	}
	return p.Kind
}

// Consortium is the member list, the approval policy, who may upload rules
// and the type catalog.
type Consortium struct {
	Members []string `json:"members"`
	// Former lists the orgs removed from the consortium (and not added
	// again), sorted: their bills stay in the other orgs' bill lists and
	// totals.
	Former []string `json:"former,omitempty"`
	Policy Policy   `json:"policy"`
	// UploadAccess says who may upload rules (RuleUpload): UploadAdmins
	// (admins of member orgs, the default) or UploadMembers (any identity
	// of a member org). It changes by vote (ConsortiumPropose upload.set).
	// A ledger made before the setting existed stores none and reads as
	// UploadAdmins.
	UploadAccess string    `json:"upload_access"`
	Types        []TypeDef `json:"types"`
	// Aliases maps other names of members (the seed prototype's org codes
	// and short names: "00001", "CNIC") to their MSP IDs. The prototype's
	// positional calls name orgs by them; fedmeter's own forms take MSP
	// IDs. They change by vote (ConsortiumPropose member.alias) and go
	// with a removed member.
	Aliases map[string]string `json:"aliases,omitempty"`
	// Version counts the changes since ConsortiumInit (which makes it 1).
	Version int `json:"version"`
	// Layout is the key layout the ledger is written in (LedgerLayout when
	// ConsortiumInit ran; 0 before layouts were numbered).
	Layout  int   `json:"layout"`
	Created Stamp `json:"created"`
	Updated Stamp `json:"updated"`
}

// Vote is one org's vote on a proposal.
type Vote struct {
	Org      string `json:"org"`
	Decision string `json:"decision"`
	By       string `json:"by"`
	Stamp
}

// Proposal is a question put to the members: approve a rule, revoke a rule,
// add or remove a member, change the policy, define a resource type.
type Proposal struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	// Type is the resource type definition a "type.set" proposal would store.
	Type *TypeDef `json:"type,omitempty"`
	// Policy is the policy a "policy.set" proposal would store.
	Policy *Policy `json:"policy,omitempty"`
	// Aliases are the names a "member.alias" proposal would bind to its
	// subject (replacing the member's aliases; empty removes them).
	Aliases []string `json:"aliases,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	// Electorate and Required are fixed when the proposal opens.
	Electorate []string `json:"electorate"`
	Required   int      `json:"required"`
	Votes      []Vote   `json:"votes"`
	Status     string   `json:"status"`
	OpenedBy   Actor    `json:"opened_by"`
	Opened     Stamp    `json:"opened"`
	Decided    *Stamp   `json:"decided,omitempty"`
}

// Rule is a billing rule version: metadata, status and the hashes that tie the
// stored bytes to what votes named and what runs.
type Rule struct {
	Name          string   `json:"name"`
	Version       string   `json:"version"`
	ResourceTypes []string `json:"resource_types"`
	Author        string   `json:"author"`
	Description   string   `json:"description,omitempty"`
	// Hash is the SHA-256 (hex) of the uploaded bytes: what votes name.
	Hash string `json:"hash"`
	// PreparedHash is the SHA-256 (hex) of the prepared module: what runs.
	PreparedHash string `json:"prepared_hash"`
	Profile      string `json:"profile"`
	ABI          int    `json:"abi"`
	Size         int    `json:"size"`
	// Status is proposed, approved, rejected or revoked.
	Status           string `json:"status"`
	Proposal         string `json:"proposal"`
	RevokeProposal   string `json:"revoke_proposal,omitempty"`
	UploadedBy       Actor  `json:"uploaded_by"`
	Uploaded         Stamp  `json:"uploaded"`
	Decided          *Stamp `json:"decided,omitempty"`
	Revoked          *Stamp `json:"revoked,omitempty"`
	RevocationReason string `json:"revocation_reason,omitempty"`
	// Provenance is where the module says it came from, if the uploader
	// said (RuleUploadWithProvenance): absent in rules uploaded without it.
	// The ledger records it and checks its form only; anyone can check it
	// by rebuilding the source (fedmeter rule verify-build).
	Provenance *Provenance `json:"provenance,omitempty"`
}

// Provenance is a rule module's claimed origin: the SHA-256 of the source
// tree it was built from (as rules/build hashes a rule folder) and the
// toolchain that built it ("go1.26.0", "assemblyscript 0.28.2").
type Provenance struct {
	SourceHash string `json:"source_sha256,omitempty"`
	Toolchain  string `json:"toolchain,omitempty"`
}

// Activation binds a resource type to a rule version from a time on. It
// carries what billing needs of the rule (the rule's prepared hash and
// profile, and whether it was revoked since), so that a bill reads the
// type's activations and not the rule record too: one round trip to the
// peer fewer on each endorser and one key fewer in each bill's read set.
// A revocation marks the rule's activations (RuleRevokeVote), and a bill
// endorsed before it conflicts with it on the activations' key.
type Activation struct {
	EffectiveFrom int64  `json:"effective_from"`
	Hash          string `json:"hash"`
	Name          string `json:"name"`
	Version       string `json:"version"`
	PreparedHash  string `json:"prepared_hash"`
	Profile       string `json:"profile"`
	// EffectiveTo, if set, ends the activation: it is in force in
	// [EffectiveFrom, EffectiveTo) (and until the next activation starts,
	// whichever is first). After it, no rule is active for the type until
	// another activation starts (RuleActivateUntil).
	EffectiveTo int64 `json:"effective_to,omitempty"`
	// Revoked is when the rule was revoked (the deciding vote), if it was.
	Revoked *Stamp `json:"revoked,omitempty"`
	By      Actor  `json:"by"`
	Stamp
}

// Activations is every activation of one resource type, oldest first.
type Activations struct {
	Type    string       `json:"type"`
	Entries []Activation `json:"entries"`
}

// PriceEntry is a provider's unit prices for one type from a time on.
type PriceEntry struct {
	EffectiveFrom int64            `json:"effective_from"`
	Currency      string           `json:"currency"`
	Scale         int              `json:"scale"`
	UnitPrices    map[string]int64 `json:"unit_prices"`
	// Parameters names the entries of UnitPrices that are parameters
	// (quantities such as a tier bound, a free allowance or a package size,
	// not money), sorted; absent when the provider listed none. Names that
	// follow the convention (see IsParameterName) are parameters whether
	// listed or not. The rule input does not carry it: a rule reads every
	// entry by name alike.
	Parameters []string `json:"parameters,omitempty"`
	By         Actor    `json:"by"`
	Stamp
}

// IsParameterName reports whether a price book entry's name marks it a
// parameter by the convention the standard rules and the SDK use: a free
// allowance starts with "free_" (free_gib) and a tier bound has "_upto_" in
// it (tier1_upto_gib_month). Every other name is a price (money) unless the
// entry lists it in Parameters.
func IsParameterName(name string) bool {
	return strings.HasPrefix(name, "free_") || strings.Contains(name, "_upto_")
}

// IsParameter reports whether the entry's unit price name is a parameter
// (a plain quantity) rather than a price in minor units of the currency:
// listed in Parameters, or so named (IsParameterName).
func (e *PriceEntry) IsParameter(name string) bool {
	if IsParameterName(name) {
		return true
	}
	for _, p := range e.Parameters {
		if p == name {
			return true
		}
	}
	return false
}

// PriceBook is a provider's price history for one type, oldest first.
type PriceBook struct {
	Provider string       `json:"provider"`
	Type     string       `json:"type"`
	Entries  []PriceEntry `json:"entries"`
}

// Quota is what a provider grants a consumer, and how much of it is held.
type Quota struct {
	Provider string           `json:"provider"`
	Consumer string           `json:"consumer"`
	Limits   map[string]int64 `json:"limits"`
	// Used sums the specs of the consumer's resources at the provider that
	// are requested or active.
	Used    map[string]int64 `json:"used"`
	By      Actor            `json:"by"`
	Updated Stamp            `json:"updated"`
	// ValidFrom and ValidTo, if set, bound when the quota grants anything:
	// requests are refused outside [ValidFrom, ValidTo) (0 = unbounded).
	ValidFrom int64 `json:"valid_from,omitempty"`
	ValidTo   int64 `json:"valid_to,omitempty"`
}

// Resource states.
const (
	StatusRequested = "requested"
	StatusActive    = "active"
	StatusReleased  = "released"
)

// Resource is a consumer's allocation at a provider.
type Resource struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Provider    string            `json:"provider"`
	Consumer    string            `json:"consumer"`
	Spec        map[string]int64  `json:"spec"`
	Attributes  map[string]string `json:"attributes"`
	Days        int64             `json:"days"`
	Status      string            `json:"status"`
	RequestedBy Actor             `json:"requested_by"`
	Requested   Stamp             `json:"requested"`
	Activated   *Stamp            `json:"activated,omitempty"`
	// ExpiresAt is Activated.Time + Days*86400: usage after it is refused.
	ExpiresAt int64  `json:"expires_at,omitempty"`
	Released  *Stamp `json:"released,omitempty"`
	// BilledTo is the end of the last bill (the activation time before any).
	BilledTo int64 `json:"billed_to,omitempty"`
	Bills    int   `json:"bills"`
	// Pending is the bill its release could not issue because the rule
	// failed; the provider issues it with BillClose once a working rule is
	// active for the type.
	Pending *PendingBill `json:"pending_bill,omitempty"`
}

// PendingBill is a release's bill that the rule failed to compute: the
// resource was released and its quota returned all the same, and its period
// (Start, End] waits for a working rule.
type PendingBill struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Reason is the rule's failure, as the contract reported it.
	Reason string `json:"reason"`
	// Tx is the release's transaction.
	Tx string `json:"tx"`
	// Overrun is the release's Overrun, carried to the bill.
	Overrun int64 `json:"overrun_seconds,omitempty"`
}

// The kinds of bill. A bill issued by a rule is BillKindRelease (the
// resource was released) or BillKindPeriod (the provider closed a period);
// the correcting kinds refer to the bill they correct through Bill.Adjusts.
const (
	BillKindRelease    = "release"
	BillKindPeriod     = "period"
	BillKindAdjustment = "adjustment" // re-rating: the difference a rule or price fix makes
	BillKindCredit     = "credit"     // credit note: the provider gives money back
)

// UsageRecord is one aggregated quantity of one metric over a period.
type UsageRecord struct {
	ID       string `json:"id"`
	Resource string `json:"resource"`
	Metric   string `json:"metric"`
	Quantity int64  `json:"quantity"`
	Start    int64  `json:"start"`
	End      int64  `json:"end"`
	// Adjusts is set on a correction (UsageAdjust): the ID of the record
	// it corrects, over the same resource, metric and period. Its Quantity
	// is the signed difference it makes, and Reason says why. Records sent
	// by UsageSubmit have neither (and their JSON is unchanged: it is what
	// a chosen ID's digest is computed over).
	Adjusts string `json:"adjusts,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// UsageAdjustment is what UsageAdjust returns: the record corrected, its
// quantity before and after, and the correction written (nil when the
// record already had that quantity: nothing was written).
type UsageAdjustment struct {
	Record     string       `json:"record"`
	Before     int64        `json:"before"`
	After      int64        `json:"after"`
	Billed     bool         `json:"billed"` // the period was billed already: re-rate it (BillRerate) to bill the difference
	Correction *UsageRecord `json:"correction"`
}

// BilledIn reports whether u counts toward the bill of period p: a record
// belongs to the bill whose period contains its end, (p.Start, p.End].
func (u UsageRecord) BilledIn(p Period) bool { return u.End > p.Start && u.End <= p.End }

// UsageResult is what UsageSubmit returns: how many records it stored and
// the IDs of those the ledger already held (or the batch repeated), which it
// left unchanged.
type UsageResult struct {
	Accepted   int      `json:"accepted"`
	Duplicates []string `json:"duplicates"`
}

// Period is a half-open time range in Unix seconds. Fields are in key order.
type Period struct {
	End   int64 `json:"end"`
	Start int64 `json:"start"`
}

// RuleRef names the rule that computed a bill.
type RuleRef struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Hash         string `json:"hash"`
	PreparedHash string `json:"prepared_hash"`
	Profile      string `json:"profile"`
}

// BillLine is one line of a bill.
type BillLine struct {
	Item      string `json:"item"`
	Quantity  int64  `json:"quantity,omitempty"`
	Unit      string `json:"unit,omitempty"`
	UnitPrice int64  `json:"unit_price,omitempty"`
	Amount    int64  `json:"amount"`
}

// Bill is an issued bill: everything needed to recompute it offline.
type Bill struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"` // one of the BillKind constants
	Provider     string     `json:"provider"`
	Consumer     string     `json:"consumer"`
	Resource     string     `json:"resource"`
	ResourceType string     `json:"resource_type"`
	Period       Period     `json:"period"`
	Rule         RuleRef    `json:"rule"`
	GasUsed      uint64     `json:"gas_used"`
	InputHash    string     `json:"input_hash"`
	Amount       int64      `json:"amount"`
	Currency     string     `json:"currency"`
	Scale        int        `json:"scale"`
	Lines        []BillLine `json:"lines"`
	Tx           string     `json:"tx"`
	IssuedAt     int64      `json:"issued_at"`
	IssuedBy     Actor      `json:"issued_by"`
	// QuotaTx is the transaction that wrote the version of the quota
	// (quota/<provider>/<consumer>) whose limits the rule input holds;
	// empty when there was no quota, and in bills issued before the field
	// existed. An offline verifier reads that version from the key's
	// history instead of trying each one.
	QuotaTx string `json:"quota_tx,omitempty"`
	// Overrun is how long (seconds) the resource was held after its
	// allocation expired (Resource.ExpiresAt), up to its release. That time
	// is not billed: a bill covers the allocation, and usage after expiry
	// is refused, so both sides stop at the expiry. The provider sees the
	// overrun here and settles it outside the rule, if at all.
	Overrun int64 `json:"overrun_seconds,omitempty"`
	// Adjusts names the bill this one corrects, for the kinds that correct
	// a bill (BillKindAdjustment, BillKindCredit); empty otherwise. A
	// correction never rewrites the bill it adjusts: it is a bill of its
	// own whose Amount (negative for a credit) adds to the original's, so a
	// statement that rolls up bills sums both.
	Adjusts string `json:"adjusts,omitempty"`
	// Reason says why a correction was issued, in its issuer's words.
	Reason string `json:"reason,omitempty"`
	// Corrections are the IDs of the usage corrections (UsageAdjust) whose
	// differences the bill's usage included. A correction written later to
	// the same period is not in the bill (a re-rating bills it), so whoever
	// rebuilds the bill's input counts these corrections and no other
	// (BilledUsage).
	Corrections []string `json:"corrections,omitempty"`
}

// BillSummary names a bill that a transaction issued, with its period and
// amount. ResourceRelease and BillClose return it instead of the bill: the
// bill is in the transaction's writes already, and a transaction's result
// travels in the transaction too, so returning the whole bill stored it
// twice in every block on every node (~900 bytes more a release). BillGet
// reads the bill.
type BillSummary struct {
	ID       string `json:"id"`
	Resource string `json:"resource"`
	Period   Period `json:"period"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Scale    int    `json:"scale"`
}

// Summary is b's BillSummary.
func (b *Bill) Summary() *BillSummary {
	return &BillSummary{ID: b.ID, Resource: b.Resource, Period: b.Period, Amount: b.Amount, Currency: b.Currency, Scale: b.Scale}
}

// Quote is what BillQuote returns: a bill that was computed, not stored.
type Quote struct {
	Rule      RuleRef         `json:"rule"`
	GasUsed   uint64          `json:"gas_used"`
	InputHash string          `json:"input_hash"`
	Input     json.RawMessage `json:"input"`
	Amount    int64           `json:"amount"`
	Currency  string          `json:"currency"`
	Scale     int             `json:"scale"`
	Lines     []BillLine      `json:"lines"`
}

// Page is one page of a list query. Bookmark is empty on the last page.
type Page[T any] struct {
	Items    []T    `json:"items"`
	Count    int    `json:"count"`
	Bookmark string `json:"bookmark"`
}

// ReleasedResource is the resource part of ResourceRelease's result.
type ReleasedResource struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Released *Stamp `json:"released"`
}

// ReleaseResult is what ResourceRelease returns: the resource's new status
// rather than the whole resource (ResourceGet has it), and its bill's
// summary rather than the bill (BillGet has it).
type ReleaseResult struct {
	Resource ReleasedResource `json:"resource"`
	Bill     *BillSummary     `json:"bill,omitempty"`
	// Pending is set instead of Bill when the rule failed: the resource is
	// released all the same, and its bill waits (Resource.Pending).
	Pending *PendingBill `json:"pending_bill,omitempty"`
	// Overrun is how long (seconds) the resource was held past its
	// allocation's expiry; that time is not billed (Bill.Overrun).
	Overrun int64 `json:"overrun_seconds,omitempty"`
}

// Total is a sum of bills with one counterparty in one currency.
type Total struct {
	Counterparty string `json:"counterparty"`
	Currency     string `json:"currency"`
	Scale        int    `json:"scale"`
	Amount       int64  `json:"amount"`
	Bills        int    `json:"bills"`
}

// Totals is what BillTotals returns for the calling org.
type Totals struct {
	Org        string  `json:"org"`
	From       int64   `json:"from"`
	To         int64   `json:"to,omitempty"`
	Receivable []Total `json:"receivable"`
	Payable    []Total `json:"payable"`
}

// MonthlyTotals is what BillTotalsMonthly returns for the calling org:
// its bills' totals in consecutive calendar months (UTC), by period end.
type MonthlyTotals struct {
	Org    string       `json:"org"`
	Months []MonthTotal `json:"months"`
	// AllTime is BillTotals over all time (From and To zero), when asked.
	AllTime *MonthTotal `json:"all_time,omitempty"`
}

// MonthTotal is one month of MonthlyTotals: bills with period end in
// [From, To), receivable and payable per counterparty and currency.
// MonthlyTotals.AllTime has the same form.
type MonthTotal struct {
	From       int64   `json:"from"`
	To         int64   `json:"to"`
	Receivable []Total `json:"receivable"`
	Payable    []Total `json:"payable"`
}

// HistoryEntry is one version of a key.
type HistoryEntry struct {
	Tx       string          `json:"tx"`
	Time     int64           `json:"time"`
	IsDelete bool            `json:"is_delete"`
	Value    json.RawMessage `json:"value,omitempty"`
}
