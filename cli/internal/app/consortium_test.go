package app

import (
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode"
)

// TestPrintConsortiumFormer: the consortium's text shows former members
// (orgs removed, whose bills stay in the others' lists) only when there
// are some.
func TestPrintConsortiumFormer(t *testing.T) {
	for _, c := range []struct {
		former []string
		want   string // a line that must appear; "" for none about former members
	}{
		{nil, ""},
		{[]string{"Org4MSP", "Org5MSP"}, "former members  Org4MSP, Org5MSP"},
	} {
		var b strings.Builder
		printConsortium(&printer{w: &b}, &chaincode.Consortium{Members: []string{"Org1MSP", "Org2MSP"}, Former: c.former,
			Policy: chaincode.Policy{Kind: "majority"}, Version: 3})
		out := b.String()
		if !strings.Contains(out, "Org1MSP, Org2MSP") {
			t.Fatalf("members missing from:\n%s", out)
		}
		if got := strings.Contains(out, "former"); got != (c.want != "") || (c.want != "" && !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(c.want), " "))) {
			t.Errorf("former %v: got\n%s\nwant a line %q", c.former, out, c.want)
		}
	}
}
