package chaincode

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEventNames: EventNames is exactly the set of names the contract's
// source passes to setEvent (directly, through the statements' helper, or
// through a variable named event), so the runtime check in setEvent can
// never refuse an event of a path no test happens to run, and no listed
// name is stale.
func TestEventNames(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	set := map[string]bool{}
	lit := func(e ast.Expr) {
		if b, ok := e.(*ast.BasicLit); ok && b.Kind == token.STRING {
			if s, err := strconv.Unquote(b.Value); err == nil {
				set[s] = true
			}
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "setEvent" || sel.Sel.Name == "statementEvent") && len(n.Args) > 0 {
					lit(n.Args[0])
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == "event" && i < len(n.Rhs) {
						lit(n.Rhs[i])
					}
				}
			}
			return true
		})
	}
	var got []string
	for s := range set {
		got = append(got, s)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(EventNames))
	if !slices.Equal(got, want) {
		t.Fatalf("the contract sets\n%v\nEventNames lists\n%v", got, want)
	}
}
