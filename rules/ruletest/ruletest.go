// Package ruletest tests billing rules against JSON test vectors, natively and
// in Wasm through the fedmeter host, and holds the two to the same bytes.
//
// A rule's test is one call:
//
//	func TestVectors(t *testing.T) {
//		ruletest.Run(t, ruletest.Options{Func: Bill, Package: "."})
//	}
//
// For every vector file (default testdata/vectors/*.json) Run
//
//   - runs Func natively with rule.Run,
//   - builds Package reproducibly to Wasm (rules/build) once, prepares it
//     with host.Prepare and runs it with host.Compiler and host.Interpreter,
//     twice each,
//   - requires the native output, every Wasm output and the vector's "want" to
//     agree (native and Wasm byte for byte; want by JSON value, so its layout is
//     free), and the gas to be the same in every engine and run, and logs the
//     gas (go test -v shows it).
//
// A vector file is one JSON object:
//
//	{
//	  "name": "one hour",
//	  "input": { ...ABI v1 input... },
//	  "want": { ...bill... } or {"error": {"code": ..., "message": ...}},
//	  "gas_limit": 50000000
//	}
//
// The input is passed compacted (json.Compact), as the host passes it. To
// test input that is not valid JSON, give it as a string in "input_text"
// instead of "input"; it is passed byte for byte. gas_limit is optional
// (host.DefaultGasLimit). Run with -update to rewrite
// every vector's want from the rule's output: go test ./rules/... -update.
// Review the diff before committing it.
//
// A rule written in another language has no Func: set Wasm to its module and
// Run checks the module's outputs against want, engines and runs against each
// other.
package ruletest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/rules/build"
	"github.com/fedmeter/fedmeter/rules/vector"
	"github.com/fedmeter/fedmeter/sdk-rules/rule"
)

var update = flag.Bool("update", false, "ruletest: rewrite each vector's want from the rule's output")

// Options says what to test.
type Options struct {
	// Func is the rule's function, run natively. Nil for a rule that is not
	// written in Go.
	Func rule.Func
	// Package is the directory of the rule's Go main package, built to Wasm
	// ("." is the package under test).
	Package string
	// Wasm is a prebuilt module, used instead of building Package.
	Wasm string
	// Vectors is a glob of vector files; default "testdata/vectors/*.json".
	Vectors string
	// NativeOnly skips Wasm (e.g. to iterate quickly); Run logs that it did.
	NativeOnly bool
}

// Vector is one test vector file (package vector).
type Vector = vector.Vector

// Outcome is what a run of one vector produced.
type Outcome struct {
	Output []byte
	Gas    uint64
}

// Run runs every vector; see the package documentation.
func Run(t *testing.T, o Options) {
	t.Helper()
	if o.Vectors == "" {
		o.Vectors = filepath.Join("testdata", "vectors", "*.json")
	}
	files, err := filepath.Glob(o.Vectors)
	if err != nil {
		t.Fatalf("ruletest: vectors %q: %v", o.Vectors, err)
	}
	if len(files) == 0 {
		t.Fatalf("ruletest: no vector files match %q", o.Vectors)
	}
	if o.Func == nil && o.Package == "" && o.Wasm == "" {
		t.Fatal("ruletest: Options needs Func, Package or Wasm")
	}

	var runner *wasmRunner
	if !o.NativeOnly && (o.Package != "" || o.Wasm != "") {
		code, err := moduleBytes(t, o)
		if err != nil {
			t.Fatalf("ruletest: %v", err)
		}
		runner, err = newWasmRunner(t, code)
		if err != nil {
			t.Fatalf("ruletest: %v", err)
		}
	} else if !o.NativeOnly {
		t.Log("ruletest: no Package or Wasm: native only")
	}
	if runner == nil && o.Func == nil {
		if o.NativeOnly {
			t.Fatal("ruletest: nothing to run: no Func, and NativeOnly")
		}
		t.Skip("ruletest: no Func and no host to run the module")
	}

	for _, file := range files {
		runFile(t, o, runner, file)
	}
}

func moduleBytes(t *testing.T, o Options) ([]byte, error) {
	if o.Wasm != "" {
		return os.ReadFile(o.Wasm)
	}
	out := filepath.Join(t.TempDir(), "rule.wasm")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, err := build.Rule(ctx, o.Package, out)
	if err != nil {
		return nil, err
	}
	t.Logf("ruletest: built %s: %d bytes, sha256 %s", o.Package, a.Size, a.Hex())
	return os.ReadFile(out)
}

func runFile(t *testing.T, o Options, runner *wasmRunner, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("ruletest: %v", err)
	}
	var v Vector
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("ruletest: %s: %v", file, err)
	}
	name := v.Name
	if name == "" {
		name = filepath.Base(file)
	}
	t.Run(name, func(t *testing.T) {
		var input bytes.Buffer
		switch {
		case v.InputText != nil && len(v.Input) == 0:
			input.WriteString(*v.InputText)
		case v.InputText == nil && len(v.Input) > 0:
			if err := json.Compact(&input, v.Input); err != nil {
				t.Fatalf("%s: input: %v", file, err)
			}
		default:
			t.Fatalf("%s: a vector needs exactly one of input and input_text", file)
		}
		var got []byte
		var from string
		if o.Func != nil {
			got = rule.Run(o.Func, input.Bytes())
			from = "native"
		}
		if runner != nil {
			outs, err := runner.run(input.Bytes(), v.GasLimit)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			first := outs[0]
			for _, oc := range outs[1:] {
				if !bytes.Equal(oc.out.Output, first.out.Output) {
					t.Errorf("%s: Wasm output differs between %s and %s:\n%s\n%s", file,
						first.label, oc.label, first.out.Output, oc.out.Output)
				}
				if oc.out.Gas != first.out.Gas {
					t.Errorf("%s: gas differs: %d (%s) and %d (%s)", file,
						first.out.Gas, first.label, oc.out.Gas, oc.label)
				}
			}
			if got != nil && !bytes.Equal(got, first.out.Output) {
				t.Errorf("%s: native and Wasm outputs differ:\nnative: %s\nwasm:   %s", file, got, first.out.Output)
			}
			if got == nil {
				got, from = first.out.Output, "wasm"
			}
			t.Logf("gas %d (%d runs agree)", first.out.Gas, len(outs))
		}
		if *update {
			if err := rewrite(file, got); err != nil {
				t.Fatalf("ruletest: update %s: %v", file, err)
			}
			t.Logf("updated %s", file)
			return
		}
		if len(v.Want) == 0 {
			t.Fatalf("%s: no want (run go test -update to record the rule's output)\n%s output: %s", file, from, got)
		}
		if err := sameJSON(v.Want, got); err != nil {
			t.Errorf("%s: %s output is not want: %v\ngot:  %s\nwant: %s", file, from, err, got, compact(v.Want))
		}
	})
}

// sameJSON reports whether want and got are the same JSON value (numbers
// compared as written).
func sameJSON(want, got []byte) error {
	w, err := decodeJSON(want)
	if err != nil {
		return fmt.Errorf("want: %w", err)
	}
	g, err := decodeJSON(got)
	if err != nil {
		return fmt.Errorf("got: %w", err)
	}
	if !reflect.DeepEqual(w, g) {
		return errors.New("values differ")
	}
	return nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

func rewrite(file string, got []byte) error {
	old, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, err := withWant(old, got)
	if err != nil {
		return err
	}
	if bytes.Equal(out, old) {
		return nil
	}
	return os.WriteFile(file, out, 0o644)
}

// withWant is a vector file's bytes with its top-level "want" set to got,
// everything else as the author wrote it (formatting, key order, fields
// ruletest does not read). A want that is already got, as JSON, is kept as
// written. A new want goes last, indented as json.MarshalIndent would.
func withWant(file, got []byte) ([]byte, error) {
	var want bytes.Buffer
	if err := json.Indent(&want, got, "  ", "  "); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(file))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("a vector file is a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		if t != "want" {
			continue
		}
		if sameJSON(val, got) == nil {
			return file, nil
		}
		end := int(dec.InputOffset())
		start := end - len(val)
		return append(append(append([]byte(nil), file[:start]...), want.Bytes()...), file[end:]...), nil
	}
	// No want yet: before the closing brace, after the last member.
	end := bytes.LastIndexByte(file, '}')
	last := len(bytes.TrimRight(file[:end], " \t\r\n"))
	sep := ",\n"
	if file[last-1] == '{' {
		sep = "\n"
	}
	out := append([]byte(nil), file[:last]...)
	out = append(out, sep+`  "want": `...)
	out = append(out, want.Bytes()...)
	out = append(out, '\n')
	return append(out, file[end:]...), nil
}

// txOf extracts the transaction fields of an input for the host call; input
// that does not parse gives zero values (the rule will refuse it anyway).
func txOf(input []byte) (id string, at time.Time) {
	var in struct {
		Tx struct {
			ID   string `json:"id"`
			Time int64  `json:"time"`
		} `json:"tx"`
	}
	_ = json.Unmarshal(input, &in)
	return in.Tx.ID, time.Unix(in.Tx.Time, 0).UTC()
}
