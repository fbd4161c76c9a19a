package model

// Limits of the contract's arguments, shared by the contract and its
// clients.
const (
	// MaxUsageBatch is the most usage records one UsageSubmit takes,
	// counting the records that period rows and tables expand to.
	MaxUsageBatch = 1000
	// MaxPageSize and DefaultPageSize bound a list's pageSize argument.
	MaxPageSize     = 500
	DefaultPageSize = 50
	// MaxUsageTime bounds usage times (Unix seconds below 10^11, the year
	// 5138): usage keys carry times in 11 digits.
	MaxUsageTime = 100_000_000_000
	// BillGasLimit is the gas limit of every billing call the contract
	// makes (host.DefaultGasLimit; the contract's tests hold them equal).
	BillGasLimit = 200_000_000
	// InputABI is the version of the rule input BuildInput encodes.
	InputABI = 1
)
