package chaincode

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// snake is a Go parameter name in snake case: resourceID -> resource_id.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			// A new word starts at an upper-case letter after a lower-case
			// one, or before a lower-case one inside an acronym.
			if i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestSignatures holds the router's table of parameter names to the
// contract: every transaction has an entry, with one name per string
// parameter of its method, and the names are the method's own (snake case),
// read from the source.
func TestSignatures(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	fromSource := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || !fd.Name.IsExported() {
				continue
			}
			var names []string
			for i, p := range fd.Type.Params.List {
				if i == 0 {
					continue // the transaction context
				}
				for _, n := range p.Names {
					names = append(names, snake(n.Name))
				}
			}
			fromSource[fd.Name.Name] = names
		}
	}
	seen := map[string]bool{}
	for _, fn := range transactions() {
		seen[fn] = true
		sig, ok := signatures[fn]
		if !ok {
			t.Errorf("transaction %s has no entry in signatures", fn)
			continue
		}
		m, _ := reflect.TypeOf(&Contract{}).MethodByName(fn)
		if n := m.Type.NumIn() - 2; n != len(sig) {
			t.Errorf("signatures[%s] names %d parameters, the method has %d", fn, len(sig), n)
		}
		if src := fromSource[fn]; strings.Join(src, ",") != strings.Join(sig, ",") {
			t.Errorf("signatures[%s] = %v, the source names %v", fn, sig, src)
		}
	}
	for fn := range signatures {
		if !seen[fn] {
			t.Errorf("signatures names %s, which is not a transaction", fn)
		}
	}
	for fn, sf := range seedForms {
		if len(sf.params) == len(signatures[fn]) {
			t.Errorf("%s's two forms take %d arguments each; the router tells them apart by count", fn, len(sf.params))
		}
	}
}

// TestArgumentCount calls every transaction with one argument too few and
// one too many (and the seed names with one more than the prototype's form
// too): each is refused, code unsupported, naming the transaction's
// parameters, before any transaction runs (nothing written).
func TestArgumentCount(t *testing.T) {
	e, _ := refusalEnv(t)
	for _, fn := range transactions() {
		sig := signatures[fn]
		counts := []int{len(sig) + 1, len(sig) + 5}
		if len(sig) > 0 {
			counts = append(counts, len(sig)-1, 0)
		}
		if sf, ok := seedForms[fn]; ok {
			counts = append(counts, len(sf.params)+1, len(sf.params)-1)
		}
		for _, n := range counts {
			if sf, ok := seedForms[fn]; n == len(sig) || ok && n == len(sf.params) {
				continue // a form the transaction takes
			}
			args := make([]string, n)
			for i := range args {
				args[i] = "x"
			}
			for _, name := range []string{fn, ContractName + ":" + fn, strings.ToLower(fn[:1]) + fn[1:]} {
				e.refused(model.CodeUnsupported, nil, "org1.admin", name, args...)
				_, _, err := e.submit("org1.admin", name, args...)
				want := fmt.Sprintf("%s takes %s", strings.TrimPrefix(name, ContractName+":"), describe(sig))
				if err == nil || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), fmt.Sprintf(", got %d", n)) {
					t.Errorf("%s with %d arguments: %v; want %q ... got %d", name, n, err, want, n)
				}
			}
		}
	}
	// The message the issue asked for, and the seed's name with both forms.
	msg := e.fail("", "org1.user", "BillGet", "r2:000001", "extra")
	if want := "[unsupported] BillGet takes 1 argument (bill_id), got 2"; msg != want {
		t.Errorf("BillGet with 2 arguments: %q, want %q", msg, want)
	}
	msg = e.fail("", "org1.admin", "initInitialQuota", "000001", "CNIC", "00001")
	if want := "[unsupported] initInitialQuota takes 2 arguments (consumer, limits), or in the prototype's form 13 arguments (quota_id, provider_name, provider_code, consumer_name, consumer_code, holding_days, vcpu, ram_gib, ecs_disk_gib, oss_disk_gib, bandwidth_mbps, public_ips, private_ips), got 3"; msg != want {
		t.Errorf("initInitialQuota with 3 arguments: %q, want %q", msg, want)
	}
	// contractapi's own system contract is left to the router.
	if _, err := e.led.Evaluate(e.id("org1.user"), "org.hyperledger.fabric:GetMetadata"); err != nil {
		t.Errorf("GetMetadata: %v", err)
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"resourceID": "resource_id", "codeHash": "code_hash", "pageSize": "page_size", "id": "id", "ids": "ids"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%s) = %s, want %s", in, got, want)
		}
	}
}
