package usageimport

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps holds the package to the standard library, yaml.v3 and the
// contract's leaf model (for its ID rules): an app
// that imports accounting records links no client, contract, ledger or
// Fabric code through it.
func TestDeps(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/fedmeter/fedmeter/cli/usageimport"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, std, _ := strings.Cut(line, " ")
		if std != "true" && path != self && path != "gopkg.in/yaml.v3" && path != "github.com/fedmeter/fedmeter/chaincode/model" {
			t.Errorf("cli/usageimport depends on %s; it may use only the standard library, gopkg.in/yaml.v3 and chaincode/model (itself standard library only)", path)
		}
	}
}
