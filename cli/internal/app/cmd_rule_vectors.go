package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/rules/vector"
	"github.com/urfave/cli/v2"
)

// rule test: a rule's test vectors run in the Wasm host.

type vectorResult struct {
	File   string `json:"file"`
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Gas    uint64 `json:"gas"`
	Output string `json:"output"`
	Reason string `json:"reason,omitempty"`
}

func ruleTest(st *state) *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run a rule's test vectors in the Wasm host, on both engines",
		UsageText: "fedmeter rule test DIR|MODULE.wasm [--vectors GLOB]",
		Description: `Prepares the module exactly as the ledger does (validation, gas metering)
and runs every test vector on wazero's compiler and interpreter; each vector
must give its "want" output, with the same bytes and gas on both engines. A
directory is built first and its vectors are DIR/testdata/vectors/*.json
(rules/ruletest's format: {"name","input","want","gas_limit"}).

A module that fails to prepare is reported with the host's reason (exit 4).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "vectors", Usage: "vector files `GLOB` (default DIR/testdata/vectors/*.json)"},
			&cli.BoolFlag{Name: "brief", Usage: "list only the failing vectors, then the summary"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "DIR|MODULE.wasm")
			if err != nil {
				return err
			}
			glob := c.String("vectors")
			if glob == "" {
				if fi, err := os.Stat(a[0]); err == nil && fi.IsDir() {
					glob = filepath.Join(a[0], "testdata", "vectors", "*.json")
				} else {
					return usageErr(c, "--vectors is required with a module file")
				}
			}
			files, err := filepath.Glob(glob)
			if err != nil || len(files) == 0 {
				return client.Errorf(client.KindInvalid, "--vectors %s matches no files", glob).
					WithHint("vectors are JSON files {\"name\",\"input\",\"want\"}; see sdk-rules/README.md")
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
			ctx := c.Context
			var mods []*host.Module
			for _, e := range []host.EngineKind{host.Compiler, host.Interpreter} {
				h, err := host.New(ctx, host.Config{Engine: e})
				if err != nil {
					return client.Errorf(client.KindRule, "the Wasm host (%s) could not start: %v", e, err)
				}
				defer h.Close(context.Background())
				m, err := h.Load(ctx, prep)
				if err != nil {
					return client.Errorf(client.KindRule, "the module does not load on the %s: %v", e, err)
				}
				mods = append(mods, m)
			}
			var results []vectorResult
			failed := 0
			for _, f := range files {
				r := runVector(ctx, mods, f)
				if !r.OK {
					failed++
				}
				results = append(results, r)
			}
			p := st.printer(c)
			if p.json {
				if err := p.JSON(map[string]any{"prepared_hash": fmt.Sprintf("%x", prep.Hash), "vectors": results, "failed": failed}); err != nil {
					return err
				}
			} else {
				p.Printf("Prepared %s (%d bytes; prepared hash %s…, profile %s)\n", a[0], len(code), fmt.Sprintf("%x", prep.Hash[:6]), prep.Profile)
				var rows [][]string
				for _, r := range results {
					status := "ok"
					if !r.OK {
						status = "FAIL: " + r.Reason
					} else if c.Bool("brief") {
						continue
					}
					rows = append(rows, []string{"  " + filepath.Base(r.File), fmt.Sprint(r.Gas), status})
				}
				if len(rows) > 0 {
					p.Table("", []string{"  VECTOR", "GAS", "RESULT"}, rows)
				}
			}
			if failed > 0 {
				return client.Errorf(client.KindRule, "%d of %d vectors failed", failed, len(files))
			}
			p.Printf("All %d vectors pass on the compiler and the interpreter, with identical output and gas.\n", len(files))
			return nil
		},
	}
}

func runVector(ctx context.Context, mods []*host.Module, file string) vectorResult {
	r := vectorResult{File: file}
	data, err := os.ReadFile(file)
	if err != nil {
		r.Reason = err.Error()
		return r
	}
	var v vector.Vector
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		r.Reason = "not a vector: " + err.Error()
		return r
	}
	r.Name = v.Name
	var in bytes.Buffer
	switch {
	case v.InputText != nil && len(v.Input) == 0:
		in.WriteString(*v.InputText)
	case v.InputText == nil && len(v.Input) > 0:
		if err := json.Compact(&in, v.Input); err != nil {
			r.Reason = "input: " + err.Error()
			return r
		}
	default:
		r.Reason = "a vector needs exactly one of input and input_text"
		return r
	}
	var tx struct {
		Tx struct {
			ID   string `json:"id"`
			Time int64  `json:"time"`
		} `json:"tx"`
	}
	_ = json.Unmarshal(in.Bytes(), &tx)
	call := host.Call{Input: in.Bytes(), GasLimit: v.GasLimit, TxTime: time.Unix(tx.Tx.Time, 0).UTC(), TxID: tx.Tx.ID}
	var first *host.Result
	for _, m := range mods {
		res, err := m.Bill(ctx, call)
		if err != nil && !errors.Is(err, host.ErrRule) {
			r.Reason = err.Error()
			return r
		}
		if first == nil {
			first = res
			continue
		}
		if !bytes.Equal(res.Output, first.Output) || res.GasUsed != first.GasUsed {
			r.Reason = "the compiler and the interpreter disagree"
			return r
		}
	}
	r.Gas, r.Output = first.GasUsed, string(first.Output)
	if len(v.Want) == 0 {
		r.Reason = "the vector has no want"
		return r
	}
	want, err1 := decodeAny(v.Want)
	got, err2 := decodeAny(first.Output)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(want, got) {
		r.Reason = "output " + string(first.Output)
		return r
	}
	r.OK = true
	return r
}

func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
