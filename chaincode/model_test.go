package chaincode

import (
	"go/build"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/host"
)

// TestBillGasLimit: the model's copy of the gas limit is the host's.
func TestBillGasLimit(t *testing.T) {
	if model.BillGasLimit != host.DefaultGasLimit {
		t.Fatalf("model.BillGasLimit %d, host.DefaultGasLimit %d", model.BillGasLimit, host.DefaultGasLimit)
	}
}

// TestModelIsALeaf: package model imports the standard library only, so an
// app that needs the contract's types and codes pulls in nothing else.
func TestModelIsALeaf(t *testing.T) {
	p, err := build.Default.Import("github.com/fedmeter/fedmeter/chaincode/model", ".", 0)
	if err != nil {
		t.Skipf("cannot list the package: %v", err)
	}
	for _, imp := range p.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("package model imports %s", imp)
		}
	}
}
