package client

import "github.com/fedmeter/fedmeter/chaincode"

// The contract's types, so that an app needs only this package. Their JSON
// and meaning are documented in package chaincode and chaincode/README.md.
type (
	Bill         = chaincode.Bill
	BillLine     = chaincode.BillLine
	Period       = chaincode.Period
	Resource     = chaincode.Resource
	UsageRecord  = chaincode.UsageRecord
	Quota        = chaincode.Quota
	PriceBook    = chaincode.PriceBook
	PriceEntry   = chaincode.PriceEntry
	Rule         = chaincode.Rule
	Activations  = chaincode.Activations
	Proposal     = chaincode.Proposal
	Consortium   = chaincode.Consortium
	TypeDef      = chaincode.TypeDef
	Totals       = chaincode.Totals
	Total        = chaincode.Total
	Quote        = chaincode.Quote
	HistoryEntry = chaincode.HistoryEntry
)
