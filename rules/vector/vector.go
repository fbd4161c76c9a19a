// Package vector is the format of a rule's test vectors: one JSON file per
// call, its input and the output the rule must give. rules/ruletest runs
// them in a rule's own tests; `fedmeter rule test` runs them from the
// command line. The type lives here, in a package of its own with no
// dependencies, so that both read the same format and neither links the
// other (ruletest links the testing package).
package vector

import "encoding/json"

// Vector is one test vector file:
//
//	{"name": "one hour", "input": {...ABI v1 input...}, "want": {...bill...} or {"error": {...}}, "gas_limit": 50000000}
type Vector struct {
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input,omitempty"`
	// InputText, instead of Input, is an input passed as is (e.g. malformed).
	InputText *string         `json:"input_text,omitempty"`
	Want      json.RawMessage `json:"want"`
	GasLimit  uint64          `json:"gas_limit,omitempty"`
}
