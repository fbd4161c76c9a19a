package chaincode

import "github.com/fedmeter/fedmeter/chaincode/model"

// Everything the contract stores or returns is a type of package model (the
// contract's model, shared with its clients), encoded with encoding/json:
// struct fields in declaration order, map keys sorted, so the bytes are the
// same on every peer. These aliases keep the contract's code and its
// importers' short.
type (
	Actor            = model.Actor
	Stamp            = model.Stamp
	Policy           = model.Policy
	TypeDef          = model.TypeDef
	Consortium       = model.Consortium
	Vote             = model.Vote
	Proposal         = model.Proposal
	Rule             = model.Rule
	Provenance       = model.Provenance
	Activation       = model.Activation
	Activations      = model.Activations
	PriceEntry       = model.PriceEntry
	PriceBook        = model.PriceBook
	Quota            = model.Quota
	Resource         = model.Resource
	UsageRecord      = model.UsageRecord
	UsageResult      = model.UsageResult
	Period           = model.Period
	RuleRef          = model.RuleRef
	BillLine         = model.BillLine
	Bill             = model.Bill
	BillSummary      = model.BillSummary
	Quote            = model.Quote
	Page[T any]      = model.Page[T]
	Total            = model.Total
	Totals           = model.Totals
	MonthlyTotals    = model.MonthlyTotals
	MonthTotal       = model.MonthTotal
	HistoryEntry     = model.HistoryEntry
	ReleasedResource = model.ReleasedResource
	PendingBill      = model.PendingBill
)

// Resource states.
const (
	StatusRequested = model.StatusRequested
	StatusActive    = model.StatusActive
	StatusReleased  = model.StatusReleased
)

// Proposal kinds and states.
const (
	KindRuleApprove  = model.KindRuleApprove
	KindRuleRevoke   = model.KindRuleRevoke
	KindMemberAdd    = model.KindMemberAdd
	KindMemberRemove = model.KindMemberRemove
	KindPolicySet    = model.KindPolicySet
	KindTypeSet      = model.KindTypeSet
	KindUploadSet    = model.KindUploadSet
	KindMemberAlias  = model.KindMemberAlias

	ProposalOpen     = model.ProposalOpen
	ProposalApproved = model.ProposalApproved
	ProposalRejected = model.ProposalRejected

	VoteApprove = model.VoteApprove
	VoteReject  = model.VoteReject
)

// Values of the consortium's upload setting (Consortium.UploadAccess): who
// may upload rules. Every upload is validated and prepared by the endorsing
// peers, and a pending rule can be quoted by every member admin, so the
// default keeps that to the members' admins, as wasmd's code_upload_access
// keeps uploads to a governance-chosen set.
const (
	// UploadAdmins: admins of member orgs only (the default).
	UploadAdmins = model.UploadAdmins
	// UploadMembers: any identity of a member org.
	UploadMembers = model.UploadMembers
)

// Rule states.
const (
	RuleProposed = model.RuleProposed
	RuleApproved = model.RuleApproved
	RuleRejected = model.RuleRejected
	RuleRevoked  = model.RuleRevoked
)
