package app

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode"
)

// TestRuleRun calls rules once with `rule run`: no ledger is opened.
func TestRuleRun(t *testing.T) {
	dir := t.TempDir() // no ledger in it: rule run needs none
	flat := filepath.Join(root, "rules", "wat-flat", "flat.wasm")
	vec := filepath.Join(root, "rules", "wat-flat", "testdata", "vectors", "01_month.json")
	raw := `{"abi":1,"currency":"CNY","scale":2,"period":{"start":1767225600,"end":1767312000},` +
		`"price":{"effective_from":0,"unit_prices":{"flat_fee":99900}},"tx":{"id":"tx-1","time":1767312000}}`
	play(t, dir, map[string]string{}, []step{
		{name: "a vector", args: []string{"rule", "run", flat, "--input", vec},
			out: []string{"compiler:", `"total":99900`, "gas used", "of 200000000", "a bill", "matches want  yes"}},
		{name: "a directory holding one module", args: []string{"rule", "run", filepath.Join(root, "rules", "wat-flat"), "--input", vec, "--engine", "interpreter"},
			out: []string{"interpreter:", `"total":99900`}},
		{name: "a Go rule directory is built first", args: []string{"rule", "run", filepath.Join(root, "rules", "build", "testdata", "rule"), "--input", "-"},
			stdin: raw, out: []string{`{"total":0,"currency":"CNY","scale":2,"lines":[]}`, "a bill"}},
		{name: "a loop runs out of the contract's gas", args: []string{"rule", "run", wasm("rule_loop.wasm"), "--input", "-"},
			stdin: raw, code: 4, out: []string{"out of gas", "200000000 of 200000000"}, err: []string{"out of gas", "hint: the rule used its whole gas limit"}},
		{name: "a trap", args: []string{"rule", "run", wasm("rule_trap.wasm"), "--input", "-"}, stdin: raw, code: 4, err: []string{"trap"}},
		{name: "a module that does not prepare", args: []string{"rule", "run", wasm("rule_noabi.wasm"), "--input", "-"}, stdin: raw, code: 4, err: []string{"the module does not prepare"}},
		{name: "an unknown engine", args: []string{"rule", "run", flat, "--input", vec, "--engine", "jit"}, code: 1, err: []string{`--engine "jit" is not compiler, interpreter or both`}},
		{name: "no input", args: []string{"rule", "run", flat}, code: 1, err: []string{"input"}},
		{name: "an input that is not there", args: []string{"rule", "run", flat, "--input", filepath.Join(dir, "nope.json")}, code: 1, err: []string{"cannot be read"}},
		{name: "a want the module does not meet", args: []string{"rule", "run", flat, "--input", filepath.Join(root, "rules", "ecs", "testdata", "vectors", "13_missing_price.json")}, code: 4, err: []string{"the output is not the vector's want"}},
	})

	// --json, both engines, stdin.
	r := fedmeter(dir, raw, "rule", "run", flat, "--input", "-", "--engine", "both", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.out, r.errOut)
	}
	var doc struct {
		Output   json.RawMessage `json:"output"`
		GasUsed  uint64          `json:"gas_used"`
		GasLimit uint64          `json:"gas_limit"`
		OK       bool            `json:"ok"`
		Runs     []runResult     `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.out)
	}
	if !doc.OK || len(doc.Runs) != 2 || doc.GasUsed == 0 || doc.GasLimit != chaincode.BillGasLimit ||
		doc.Runs[0].GasUsed != doc.Runs[1].GasUsed || string(doc.Runs[0].Output) != string(doc.Runs[1].Output) ||
		!strings.Contains(compactJSON(doc.Output), `"total":99900`) {
		t.Fatalf("unexpected document:\n%s", r.out)
	}

	// Out of gas in JSON: gas used is the limit, and the error is JSON on stderr.
	r = fedmeter(dir, raw, "rule", "run", wasm("rule_loop.wasm"), "--input", "-", "--gas", "123456", "--json")
	if r.code != 4 || !strings.HasPrefix(r.errOut, "{") {
		t.Fatalf("exit %d, stderr %s", r.code, r.errOut)
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || doc.OK || doc.GasUsed != 123456 || doc.Runs[0].Kind != "out_of_gas" {
		t.Fatalf("unexpected document (%v):\n%s", err, r.out)
	}
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}
