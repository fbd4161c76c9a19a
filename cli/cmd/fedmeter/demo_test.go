package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/rules/build"
)

const root = "../../.."

// TestDemo runs cli/demo.sh, the script behind `make demo`, with a freshly
// built fedmeter and ECS rule, and checks the story's outcome against the
// ECS rule's own test vector for the same server, prices and usage.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and the ECS rule")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	bin := filepath.Join(tmp, "fedmeter")
	if out, err := exec.CommandContext(ctx, build.GoCommand(), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rules := filepath.Join(tmp, "rules")
	if _, err := build.Rule(ctx, filepath.Join(root, "rules", "ecs"), filepath.Join(rules, "ecs.wasm")); err != nil {
		t.Fatal(err)
	}

	demo := filepath.Join(tmp, "demo")
	cmd := exec.CommandContext(ctx, bash, filepath.Join(root, "cli", "demo.sh"))
	cmd.Env = append(os.Environ(), "FEDMETER="+bin, "RULES_OUT="+rules, "DEMO_DIR="+demo)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out.String())
	}
	t.Logf("demo.sh ran in %s", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{
		"== 1. Three research clouds form a consortium",
		"Published Org1MSP's prices for ecs",
		"Org2MSP requested ecs-00002001 from Org1MSP",
		"3 records in 1 batch: 3 accepted",
		"3 records in 1 batch: 0 accepted, 3 already on the ledger",
		"vectors pass on the compiler and the interpreter",
		"only admins of member orgs may upload rules while the consortium's upload setting is admins",
		"The rule is approved",
		"(refused with exit code 1, as it should be)",
		"Bill ecs-00002001:000001 (release): 49.04 CNY",
		// The narration: commands as they ran (with --at), the CSV shown,
		// holding lines in hours with their price, amounts with a currency.
		"$ fedmeter --at 2026-01-02T00:00:00Z --as Org2/User1 resource release ecs-00002001\n",
		"u-0003,ecs-00002001,cpu_seconds,150000,",
		"cpu_seconds costs nothing",
		"48 vcpu_hour (172800 vcpu_second)   = 0.12 per vcpu_hour  5.76\n",
		"AMOUNT (CNY)",
		"is the first bill",
		"(refused with exit code 3, as it should be)",
		"Org2MSP   1      49.04 CNY",
		"Bill ecs-00002001:000001 verified",
		"Ledger verified",
		// Settlement: January's statement issued, acknowledged and paid.
		"Issued statement st-2026-01 to Org2MSP: 1 bill, 49.04 CNY.",
		"st-2026-01,Org1MSP,Org2MSP,ecs-00002001:000001,release,",
		"acknowledged statement st-2026-01 (49.04 CNY): it is acknowledged.",
		"recorded payment WIRE-20260210-0042 of 49.04 CNY",
		"the payee of statement st-2026-01",
		"49.04 CNY of 49.04 CNY confirmed; the statement is paid.",
		"The story played to the end.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("demo output:\n%s", out.String())
	}

	// The bill is what the ECS rule's vector says for the same server,
	// prices, usage and period (rules/ecs/testdata/vectors/21_egress.json).
	var vec struct {
		Input struct {
			Currency string           `json:"currency"`
			Scale    int              `json:"scale"`
			Period   map[string]int64 `json:"period"`
			Price    struct {
				UnitPrices map[string]int64 `json:"unit_prices"`
			} `json:"price"`
			Resource struct {
				Spec map[string]int64 `json:"spec"`
			} `json:"resource"`
			Usage map[string]int64 `json:"usage"`
		} `json:"input"`
		Want struct {
			Total    int64           `json:"total"`
			Currency string          `json:"currency"`
			Scale    int             `json:"scale"`
			Lines    json.RawMessage `json:"lines"`
		} `json:"want"`
	}
	readJSON(t, filepath.Join(root, "rules", "ecs", "testdata", "vectors", "21_egress.json"), &vec)

	fm := func(args ...string) []byte {
		t.Helper()
		c := exec.CommandContext(ctx, bin, append([]string{"--data", filepath.Join(demo, "ledger"), "-o", "json"}, args...)...)
		b, err := c.Output()
		if err != nil {
			t.Fatalf("fedmeter %s: %v", strings.Join(args, " "), err)
		}
		return b
	}
	var v struct {
		OK    bool `json:"ok"`
		Input struct {
			Currency string           `json:"currency"`
			Scale    int              `json:"scale"`
			Period   map[string]int64 `json:"period"`
			Price    struct {
				UnitPrices map[string]int64 `json:"unit_prices"`
			} `json:"price"`
			Resource struct {
				Spec map[string]int64 `json:"spec"`
			} `json:"resource"`
			Usage map[string]int64 `json:"usage"`
		} `json:"input"`
		Bill struct {
			Amount   int64           `json:"amount"`
			Currency string          `json:"currency"`
			Scale    int             `json:"scale"`
			Lines    json.RawMessage `json:"lines"`
		} `json:"bill"`
	}
	if err := json.Unmarshal(fm("--as", "Org2/User1", "bill", "verify", "ecs-00002001:000001"), &v); err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatal("bill verify: not OK")
	}
	if !reflect.DeepEqual(v.Input.Resource.Spec, vec.Input.Resource.Spec) || !reflect.DeepEqual(v.Input.Usage, vec.Input.Usage) ||
		!reflect.DeepEqual(v.Input.Price.UnitPrices, vec.Input.Price.UnitPrices) || v.Input.Currency != vec.Input.Currency ||
		v.Input.Scale != vec.Input.Scale || v.Input.Period["end"]-v.Input.Period["start"] != vec.Input.Period["end"]-vec.Input.Period["start"] {
		t.Fatalf("the demo's bill input %+v is not the vector's %+v", v.Input, vec.Input)
	}
	if v.Bill.Amount != vec.Want.Total || v.Bill.Currency != vec.Want.Currency || v.Bill.Scale != vec.Want.Scale || !sameJSON(v.Bill.Lines, vec.Want.Lines) {
		t.Fatalf("bill %+v lines %s; the vector wants %d %s, lines %s", v.Bill, v.Bill.Lines, vec.Want.Total, vec.Want.Currency, vec.Want.Lines)
	}

	var tot struct {
		Receivable []map[string]any `json:"receivable"`
	}
	if err := json.Unmarshal(fm("--as", "Org1/Admin", "bill", "total", "--provider"), &tot); err != nil {
		t.Fatal(err)
	}
	if len(tot.Receivable) != 1 || tot.Receivable[0]["counterparty"] != "Org2MSP" || tot.Receivable[0]["amount"] != float64(vec.Want.Total) {
		t.Fatalf("provider totals %+v", tot.Receivable)
	}

	// The binary's exit codes and its shell completion.
	c := exec.CommandContext(ctx, bin, "--data", filepath.Join(demo, "ledger"), "bill", "show", "nope:000001")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	err = c.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.HasPrefix(stderr.String(), "fedmeter: there is no bill nope:000001.") {
		t.Fatalf("unknown bill: %v, %q", err, stderr.String())
	}
	comp, err := exec.CommandContext(ctx, bin, "rule", "--generate-bash-completion").Output()
	if err != nil || !strings.Contains(string(comp), "upload\nvote\n") {
		t.Fatalf("bash completion of rule: %v %q", err, comp)
	}
}

func readJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// sameJSON compares two JSON values (numbers as written, key order free).
func sameJSON(a, b []byte) bool {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&x) == nil && db.Decode(&y) == nil && reflect.DeepEqual(x, y)
}
