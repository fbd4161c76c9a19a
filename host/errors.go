package host

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the host returns for a rule's fault matches
// exactly one of them under errors.Is, so callers (the chaincode, the CLI) can
// branch on the kind and still print the detailed message.
var (
	// ErrInvalidModule: preparation rejected the module. The error is an
	// *InvalidModuleError naming the offending section, import or opcode.
	ErrInvalidModule = errors.New("invalid module")
	// ErrOutOfGas: the call used its whole gas limit. Gas used equals the limit.
	ErrOutOfGas = errors.New("out of gas")
	// ErrTrap: the module trapped (unreachable, out-of-bounds access, integer
	// divide by zero, proc_exit, ...). The error is a *TrapError.
	ErrTrap = errors.New("trap")
	// ErrMemoryLimit: the module's init left more memory than
	// Profile.MaxSnapshotPages, so it cannot be loaded. (A rule's own
	// memory.grow past its limit is not an error: it returns -1, as the
	// Wasm spec says, so a rule can probe for memory.)
	ErrMemoryLimit = errors.New("memory limit exceeded")
	// ErrStackLimit: the call nested deeper than Profile.MaxCallDepth.
	ErrStackLimit = errors.New("call stack limit exceeded")
	// ErrBadOutput: the rule returned something that is not a valid ABI v1
	// output. The error is a *BadOutputError.
	ErrBadOutput = errors.New("bad rule output")
	// ErrRule: the rule refused its input and said why. The error is a *RuleError.
	ErrRule = errors.New("rule error")
)

// InvalidModuleError says why preparation rejected a module.
type InvalidModuleError struct {
	Reason string
}

func (e *InvalidModuleError) Error() string { return "invalid module: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidModule) true.
func (e *InvalidModuleError) Is(target error) bool { return target == ErrInvalidModule }

func invalidf(format string, args ...any) error {
	return &InvalidModuleError{Reason: fmt.Sprintf(format, args...)}
}

// TrapError is a trap raised while the module ran.
type TrapError struct {
	// Phase is "init" or "call".
	Phase string
	// Message is the engine's trap message without its Go stack trace,
	// e.g. "wasm error: integer divide by zero".
	Message string
}

func (e *TrapError) Error() string { return "trap during " + e.Phase + ": " + e.Message }

// Is makes errors.Is(err, ErrTrap) true.
func (e *TrapError) Is(target error) bool { return target == ErrTrap }

// BadOutputError says how a rule's output broke ABI v1.
type BadOutputError struct {
	Reason string
}

func (e *BadOutputError) Error() string { return "bad rule output: " + e.Reason }

// Is makes errors.Is(err, ErrBadOutput) true.
func (e *BadOutputError) Is(target error) bool { return target == ErrBadOutput }

func badOutputf(format string, args ...any) error {
	return &BadOutputError{Reason: fmt.Sprintf(format, args...)}
}

// RuleError is an error the rule itself reported for its input.
type RuleError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *RuleError) Error() string { return "rule error " + e.Code + ": " + e.Message }

// Is makes errors.Is(err, ErrRule) true.
func (e *RuleError) Is(target error) bool { return target == ErrRule }
