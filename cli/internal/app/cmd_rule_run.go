package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/rules/vector"
	"github.com/urfave/cli/v2"
)

// rule run: one call of a rule, as the ledger makes it, without a ledger.

// runResult is one engine's answer to a rule run.
type runResult struct {
	Engine       string          `json:"engine"`
	Output       json.RawMessage `json:"output,omitempty"`
	OutputText   string          `json:"output_text,omitempty"` // the output when it is not JSON
	GasUsed      uint64          `json:"gas_used"`
	Log          string          `json:"log"`
	LogTruncated bool            `json:"log_truncated,omitempty"`
	Error        string          `json:"error,omitempty"`
	Kind         string          `json:"error_kind,omitempty"` // rule, out_of_gas, trap, stack, memory, bad_output
}

func ruleRun(st *state) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "call a rule once, exactly as the ledger would, and print its output, gas and log",
		UsageText: "fedmeter rule run MODULE.wasm|DIR --input FILE|- [--engine compiler|interpreter|both] [--gas N]",
		Description: `Prepares the module as the ledger does at upload (validation, gas metering;
the prepared hash is printed), then makes one billing call with the input,
the contract's gas limit (` + fmt.Sprint(chaincode.BillGasLimit) + `) and the transaction ID and time taken
from the input's "tx", and prints the rule's output, the gas it used and what
it wrote to stdout/stderr (its log). No ledger is needed or touched.

A DIR is built first, as rule build and rule test do (a Go main package, an
AssemblyScript rule with a package.json, or a folder holding one .wasm).

--input is ABI v1 input JSON (host/ABI.md), from a file or stdin (-); it is
compacted as the ledger compacts it. A test vector file ({"name","input",
"want"}) works too: its input is used, and the output is compared with its
want. --engine both runs the compiler and the interpreter and fails unless
they agree byte for byte and gas for gas.

Exit 0 when the rule returns a bill; 4 when it refuses the input (a rule
error: the output is still printed), traps, runs out of gas or returns bad
output, or when the engines disagree or the output is not the vector's want.

Examples:
  fedmeter rule run rules/ecs --input rules/ecs/testdata/vectors/21_egress.json
  fedmeter rule run build/rules/ecs.wasm --input input.json --engine both --json
  echo '{"abi":1,"currency":"EUR","scale":2,"period":{"start":0,"end":3600}}' | fedmeter rule run my-rule --input -

Next: fedmeter rule test DIR runs every vector; fedmeter rule upload proposes it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "ABI v1 input JSON (or a test vector) `FILE`, or - for stdin", Required: true},
			&cli.StringFlag{Name: "engine", Value: "compiler", Usage: "wazero `ENGINE`: compiler, interpreter or both"},
			&cli.Uint64Flag{Name: "gas", Usage: "gas limit `N` (default: the contract's, " + fmt.Sprint(chaincode.BillGasLimit) + ")"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON document (same as --output json)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("json") {
				st.jsonOn = true
			}
			a, err := args(c, 1, 1, "MODULE.wasm|DIR")
			if err != nil {
				return err
			}
			var engines []host.EngineKind
			switch c.String("engine") {
			case "compiler":
				engines = []host.EngineKind{host.Compiler}
			case "interpreter":
				engines = []host.EngineKind{host.Interpreter}
			case "both":
				engines = []host.EngineKind{host.Compiler, host.Interpreter}
			default:
				return usageErr(c, "--engine %q is not compiler, interpreter or both", c.String("engine"))
			}
			input, want, vecGas, err := readRunInput(st, c.String("input"))
			if err != nil {
				return err
			}
			gas := uint64(chaincode.BillGasLimit)
			if vecGas != 0 {
				gas = vecGas
			}
			if c.IsSet("gas") {
				if c.Uint64("gas") == 0 {
					return usageErr(c, "--gas must be positive")
				}
				gas = c.Uint64("gas")
			}
			code, _, err := moduleArg(c, a[0])
			if err != nil {
				return err
			}
			prep, err := host.Prepare(code)
			if err != nil {
				return client.Errorf(client.KindRule, "the module does not prepare: %v", err).
					WithHint("host/ABI.md lists what a module may import and contain")
			}
			var tx struct {
				Tx struct {
					ID   string `json:"id"`
					Time int64  `json:"time"`
				} `json:"tx"`
			}
			_ = json.Unmarshal(input, &tx) // input the rule refuses still runs
			call := host.Call{Input: input, GasLimit: gas, TxTime: time.Unix(tx.Tx.Time, 0).UTC(), TxID: tx.Tx.ID}
			results, err := runOnEngines(c.Context, prep, call, engines)
			if err != nil {
				return err
			}
			first := results[0]
			var failure error
			for _, r := range results[1:] {
				if !bytes.Equal(r.Output, first.Output) || r.OutputText != first.OutputText || r.GasUsed != first.GasUsed || r.Error != first.Error {
					failure = client.Errorf(client.KindRule, "the compiler and the interpreter disagree (gas %d and %d)", first.GasUsed, r.GasUsed).
						WithHint("this is a bug in the host: please report it with the module and the input")
				}
			}
			matches := ""
			if want != nil && failure == nil && (first.Error == "" || first.Kind == "rule") {
				w, err1 := decodeAny(want)
				g, err2 := decodeAny(first.Output)
				if err1 == nil && err2 == nil && reflect.DeepEqual(w, g) {
					matches = "yes"
				} else {
					matches = "no"
					failure = client.Errorf(client.KindRule, "the output is not the vector's want")
				}
			}
			if failure == nil && first.Error != "" && matches != "yes" {
				e := client.Errorf(client.KindRule, "%s", first.Error)
				if first.Kind == "out_of_gas" {
					e.Hint = "the rule used its whole gas limit: look for a loop that does not end, or raise --gas to see how much it needs"
				}
				failure = e
			}
			p := st.printer(c)
			if p.json || c.Bool("json") {
				doc := map[string]any{
					"module":        a[0],
					"prepared_hash": fmt.Sprintf("%x", prep.Hash),
					"code_sha256":   fmt.Sprintf("%x", prep.SourceHash),
					"profile":       prep.Profile,
					"gas_limit":     gas,
					"runs":          results,
					"output":        first.Output,
					"gas_used":      first.GasUsed,
					"log":           first.Log,
					"ok":            failure == nil,
				}
				if first.OutputText != "" {
					doc["output_text"] = first.OutputText
				}
				if matches != "" {
					doc["matches_want"] = matches == "yes"
				}
				pj := &printer{w: p.w, json: true}
				if err := pj.JSON(doc); err != nil {
					return err
				}
				return failure
			}
			p.Printf("Prepared %s (%d bytes, sha256 %s; prepared hash %s…, profile %s)\n", a[0], len(code),
				fmt.Sprintf("%x", prep.SourceHash), fmt.Sprintf("%x", prep.Hash[:6]), prep.Profile)
			for _, r := range results {
				p.Printf("%s:\n", r.Engine)
				out := string(r.Output)
				if r.OutputText != "" {
					out = r.OutputText
				}
				if out == "" {
					out = "(none)"
				}
				log := strings.TrimRight(r.Log, "\n")
				if log == "" {
					log = "(empty)"
				} else if r.LogTruncated {
					log += " [truncated]"
				}
				kv := []string{"output", out, "gas used", fmt.Sprintf("%d of %d", r.GasUsed, gas), "result", resultLine(r),
					"log", strings.ReplaceAll(log, "\n", "\n    ")}
				if matches != "" && r.Engine == results[len(results)-1].Engine {
					kv = append(kv, "matches want", matches)
				}
				p.KV(kv...)
			}
			return failure
		},
	}
}

func resultLine(r runResult) string {
	switch {
	case r.Error == "":
		return "a bill"
	case r.Kind == "rule":
		return "the rule refused the input (" + r.Error + ")"
	default:
		return r.Error
	}
}

// readRunInput reads --input: ABI input JSON, or a test vector.
func readRunInput(st *state, name string) (input, want []byte, gas uint64, err error) {
	var data []byte
	if name == "-" {
		data, err = io.ReadAll(st.io.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, nil, 0, client.Errorf(client.KindInvalid, "--input %s cannot be read: %v", name, unwrapPath(err))
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) == nil {
		_, hasABI := probe["abi"]
		_, hasInput := probe["input"]
		_, hasText := probe["input_text"]
		if !hasABI && (hasInput || hasText) {
			var v vector.Vector
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, nil, 0, client.Errorf(client.KindInvalid, "--input %s is not a test vector: %v", name, err)
			}
			if v.InputText != nil {
				return []byte(*v.InputText), v.Want, v.GasLimit, nil
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, v.Input); err != nil {
				return nil, nil, 0, client.Errorf(client.KindInvalid, "--input %s: input: %v", name, err)
			}
			return buf.Bytes(), v.Want, v.GasLimit, nil
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, data) == nil {
		return buf.Bytes(), nil, 0, nil
	}
	// Not JSON: passed as is, so that the rule's own refusal can be seen.
	return data, nil, 0, nil
}

func unwrapPath(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// runOnEngines makes the call on each engine.
func runOnEngines(ctx context.Context, prep *host.Prepared, call host.Call, engines []host.EngineKind) ([]runResult, error) {
	var out []runResult
	for _, e := range engines {
		h, err := host.New(ctx, host.Config{Engine: e})
		if err != nil {
			return nil, client.Errorf(client.KindRule, "the Wasm host (%s) could not start: %v", e, err)
		}
		defer h.Close(context.Background())
		m, err := h.Load(ctx, prep)
		if err != nil {
			return nil, client.Errorf(client.KindRule, "the module does not load on the %s: %v", e, err)
		}
		res, err := m.Bill(ctx, call)
		r := runResult{Engine: e.String()}
		if res != nil {
			if json.Valid(res.Output) {
				r.Output = json.RawMessage(res.Output)
			} else {
				r.OutputText = string(res.Output)
			}
			r.GasUsed, r.Log, r.LogTruncated = res.GasUsed, string(res.Log), res.LogTruncated
		}
		if err != nil {
			r.Error = err.Error()
			switch {
			case errors.Is(err, host.ErrRule):
				r.Kind = "rule"
			case errors.Is(err, host.ErrOutOfGas):
				r.Kind = "out_of_gas"
			case errors.Is(err, host.ErrTrap):
				r.Kind = "trap"
			case errors.Is(err, host.ErrStackLimit):
				r.Kind = "stack"
			case errors.Is(err, host.ErrMemoryLimit):
				r.Kind = "memory"
			case errors.Is(err, host.ErrBadOutput):
				r.Kind = "bad_output"
			default:
				r.Kind = "host"
			}
		}
		out = append(out, r)
	}
	return out, nil
}
