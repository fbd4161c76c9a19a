// Package model is the fedmeter contract's model, shared by the contract
// (package chaincode), its clients (cli/client) and the offline verifier:
// the types that cross the boundary as JSON (bills, resources, quotas,
// prices, rules, usage records, pages...), derived IDs (DeriveUsageID,
// BillID), the limits of the arguments (MaxUsageBatch, ...), the usage wire
// codec (EncodeUsageBatch and DecodeUsageBatch together), the rule input
// (EncodeInput, UsageSums) and the refusal codes (Code, Refusal and its wire
// form, DecodeRefusal). It imports the standard library only.
package model
