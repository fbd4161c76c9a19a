package ruletest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSameJSON(t *testing.T) {
	a := []byte(`{"total":1,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":1}]}`)
	b := []byte("{\n  \"lines\": [{\"amount\": 1, \"item\": \"a\"}],\n  \"scale\": 2, \"currency\": \"CNY\", \"total\": 1\n}")
	if err := sameJSON(a, b); err != nil {
		t.Errorf("same value, different layout: %v", err)
	}
	for _, c := range []string{
		`{"total":1,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":2}]}`,
		`{"total":1.0,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":1}]}`,
		`{"total":1,"currency":"CNY","scale":2,"lines":[{"item":"a","amount":1}],"x":0}`,
	} {
		if sameJSON(a, []byte(c)) == nil {
			t.Errorf("%s: not reported as different", c)
		}
	}
	if sameJSON(a, []byte("{")) == nil {
		t.Error("invalid JSON not reported")
	}
}

func TestRewriteKeepsInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "v.json")
	v := Vector{Name: "n", Input: json.RawMessage(`{"z":1,"a":{"y":2,"b":3}}`), GasLimit: 5}
	b, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(file, []byte(`{"total":0,"currency":"CNY","scale":2,"lines":[]}`)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	// Key order of the input is kept; want is indented; gas_limit survives.
	if strings.Index(s, `"z"`) > strings.Index(s, `"a"`) || !strings.Contains(s, "\"want\": {\n    \"total\": 0") ||
		!strings.Contains(s, `"gas_limit": 5`) || !strings.HasSuffix(s, "}\n") {
		t.Errorf("rewritten vector:\n%s", s)
	}
}

func TestTxOf(t *testing.T) {
	id, at := txOf([]byte(`{"tx":{"id":"abc","time":1767225600}}`))
	if id != "abc" || !at.Equal(time.Unix(1767225600, 0)) {
		t.Errorf("txOf = %q, %v", id, at)
	}
	if id, at := txOf([]byte(`not json`)); id != "" || at.Unix() != 0 {
		t.Errorf("txOf(bad) = %q, %v", id, at)
	}
}

// -update sets want and keeps the rest of the file as the author wrote it.
func TestWithWant(t *testing.T) {
	got := []byte(`{"total":120,"currency":"EUR","scale":2}`)
	authored := "{\n  \"name\": \"three seats\",\n  \"note\": \"hand-written, compact input\",\n  \"input\": {\"abi\": 1, \"scale\": 2,\n    \"period\": {\"start\": 1, \"end\": 2}},\n  \"want\": {\"total\": 1}\n}\n"
	out, err := withWant([]byte(authored), got)
	if err != nil {
		t.Fatal(err)
	}
	wantFile := "{\n  \"name\": \"three seats\",\n  \"note\": \"hand-written, compact input\",\n  \"input\": {\"abi\": 1, \"scale\": 2,\n    \"period\": {\"start\": 1, \"end\": 2}},\n  \"want\": {\n    \"total\": 120,\n    \"currency\": \"EUR\",\n    \"scale\": 2\n  }\n}\n"
	if string(out) != wantFile {
		t.Errorf("replaced want:\n%s\nwant:\n%s", out, wantFile)
	}
	// A want that is already the output, laid out by hand, stays as it is.
	same := "{\"name\": \"x\", \"want\": {\"scale\": 2, \"currency\": \"EUR\", \"total\": 120}}\n"
	if out, err := withWant([]byte(same), got); err != nil || string(out) != same {
		t.Errorf("an equal want was rewritten: %s, %v", out, err)
	}
	// No want yet: it goes last.
	out, err = withWant([]byte("{\n  \"name\": \"x\",\n  \"input\": {\"abi\": 1}\n}\n"), []byte(`{"total":0}`))
	if err != nil || string(out) != "{\n  \"name\": \"x\",\n  \"input\": {\"abi\": 1},\n  \"want\": {\n    \"total\": 0\n  }\n}\n" {
		t.Errorf("added want:\n%s (%v)", out, err)
	}
	var v Vector
	if err := json.Unmarshal(out, &v); err != nil || v.Name != "x" {
		t.Errorf("not a vector: %v", err)
	}
}
