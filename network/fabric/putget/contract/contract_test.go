package contract_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/fabric/putget/contract"
	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// putget runs the contract on a temporary embedded ledger, as fmbench's
// openBaseline (network/fmbench) does.
func putget(t *testing.T) (*embedded.Ledger, *msp.Identity) {
	t.Helper()
	cc, err := contractapi.NewChaincode(&contract.PutGet{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := embedded.Open(t.TempDir(), cc, embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ca, err := msp.NewCA("Org1MSP", "org1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.Issue(msp.UserSpec{Name: "User1", Role: msp.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	return l, id
}

// TestFootprint: Footprint writes one key of each size asked for, sets an
// event and returns a result of the sizes asked for, and reads keys that
// exist or not; bad sizes are refused and write nothing.
func TestFootprint(t *testing.T) {
	l, id := putget(t)
	ctx := context.Background()
	if _, err := l.Submit(ctx, id, "Put", "k1", "v1"); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"u/1", "u/2", "v/1"} { // two in the scanned range
		if _, err := l.Submit(ctx, id, "Put", arg, "x"); err != nil {
			t.Fatal(err)
		}
	}
	res, err := l.Submit(ctx, id, "Footprint", "fp", "k1,missing", "u", "3,0,1000", "7", "5")
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Payload) != "rrrrr" {
		t.Errorf("result %q, want 5 bytes", res.Payload)
	}
	if len(res.Events) != 1 || res.Events[0].Name != "Footprint" || len(res.Events[0].Payload) != 7 {
		t.Errorf("events %+v, want one of 7 bytes", res.Events)
	}
	for k, n := range map[string]int{"fp/w0": 3, "fp/w1": 0, "fp/w2": 1000} {
		v, err := l.Evaluate(ctx, id, "Get", k)
		if n == 0 { // an empty value: Get reports none
			if err == nil {
				t.Errorf("%s = %q, want empty", k, v)
			}
			continue
		}
		if err != nil || string(v) != strings.Repeat("v", n) {
			t.Errorf("%s: %d bytes, %v; want %d", k, len(v), err, n)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"", "", "", "", "0", "0"}, "needs a prefix"},
		{[]string{"fq", "", "", "1,x", "0", "0"}, `write 1: size "x" is not 0 to 1 MiB`},
		{[]string{"fq", "", "", "1", "-1", "0"}, "event and result sizes"},
	} {
		if _, err := l.Submit(ctx, id, "Footprint", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Footprint%q: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := l.Evaluate(ctx, id, "Get", "fq/w0"); err == nil {
		t.Error("a refused Footprint wrote fq/w0")
	}
}
