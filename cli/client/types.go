package client

import "github.com/fedmeter/fedmeter/chaincode/model"

// The contract's types (package chaincode/model, the contract's leaf model:
// types, codes and codec, standard library only), so that an app needs only
// this package. Their JSON and meaning are documented in chaincode/model and
// chaincode/README.md.
type (
	Bill             = model.Bill
	BillLine         = model.BillLine
	BillSummary      = model.BillSummary
	PendingBill      = model.PendingBill
	Period           = model.Period
	Resource         = model.Resource
	ReleasedResource = model.ReleasedResource
	UsageRecord      = model.UsageRecord
	UsageResult      = model.UsageResult
	Quota            = model.Quota
	PriceBook        = model.PriceBook
	PriceEntry       = model.PriceEntry
	Rule             = model.Rule
	Activation       = model.Activation
	Activations      = model.Activations
	Proposal         = model.Proposal
	Consortium       = model.Consortium
	TypeDef          = model.TypeDef
	Totals           = model.Totals
	Total            = model.Total
	Quote            = model.Quote
	HistoryEntry     = model.HistoryEntry
)
