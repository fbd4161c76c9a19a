package embedded_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/fedmeter/fedmeter/cli/client/verify"
	bolt "go.etcd.io/bbolt"
)

// t0 is 2026-01-01T00:00:00Z, the story's start (as in chaincode's tests).
var t0 = time.Unix(1767225600, 0).UTC()

// ledger is a fresh embedded ledger with the seed's orgs and a clock the
// test moves.
type ledger struct {
	t   *testing.T
	dir string
	now time.Time
	e   *embedded.Backend
}

func newLedger(t *testing.T) *ledger {
	t.Helper()
	l := &ledger{t: t, dir: filepath.Join(t.TempDir(), "ledger"), now: t0.Add(-time.Hour)}
	clock := func() time.Time { return l.now }
	if _, err := embedded.Init(context.Background(), l.dir, embedded.InitOptions{Clock: clock, NoSync: true}); err != nil {
		t.Fatalf("InitEmbedded: %v", err)
	}
	e, err := embedded.Open(l.dir, embedded.Options{Clock: clock, NoSync: true})
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	l.e = e
	return l
}

// as returns a client acting as who ("Org2/User1").
func (l *ledger) as(who string) *client.Client {
	l.t.Helper()
	v, err := l.e.As(who)
	if err != nil {
		l.t.Fatalf("As(%s): %v", who, err)
	}
	return client.New(v)
}

// must1 returns f's value, failing the test on its error:
// must1(t)(c.Bill(ctx, id)) is not Go, so: v := must1(t, c.Bill)(ctx, id)
// would be clumsy; instead ok wraps a (value, error) pair after the call:
//
//	b := ok(c.Bill(ctx, id))(t)
func ok[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ecsHourly(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "chaincode", "testdata", "ecs_hourly.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// story plays the seed's story through the typed helpers and returns the
// bill: Org2 holds a server of Org1 for 47.5 hours with 5 GiB of egress,
// billed by the hourly ECS test rule (chaincode/testdata/ecs_hourly.wat).
func (l *ledger) story() *client.Bill {
	t, ctx := l.t, context.Background()
	l.now = t0
	org1, org2 := l.as("Org1/Admin"), l.as("Org2/User1")
	ok(org1.SetPrice(ctx, "ecs", client.Prices{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{
		"vcpu_hour": 12, "memory_gib_hour": 3, "disk_gib_hour": 1, "public_ip_hour": 5, "egress_gib": 80}}, ""))(t)
	ok(org1.SetQuota(ctx, "Org2MSP", map[string]int64{"max_days": 365, "vcpu": 10, "memory_gib": 40, "system_disk_gib": 40, "public_ips": 2}))(t)
	ok(org2.RequestResource(ctx, client.ResourceRequest{ID: "202202150002", Provider: "Org1MSP", Type: "ecs",
		Spec: map[string]int64{"vcpu": 2, "memory_gib": 4, "system_disk_gib": 40, "public_ips": 1}, Days: 30}))(t)
	ok(l.as("Org1/Agent1").ActivateResource(ctx, "202202150002"))(t)
	l.now = t0.Add(20 * time.Hour)
	recs := []client.UsageRecord{
		{Resource: "202202150002", Metric: "egress_gib", Quantity: 3, Start: t0.Unix(), End: t0.Unix() + 36000},
		{Resource: "202202150002", Metric: "egress_gib", Quantity: 2, Start: t0.Unix() + 36000, End: t0.Unix() + 72000},
	}
	rep := ok(l.as("Org1/Agent1").SubmitUsage(ctx, recs, client.UsageOptions{BatchSize: 1}))(t)
	if rep.Accepted != 2 || rep.Batches != 2 {
		t.Fatalf("usage: %+v", rep)
	}
	rep = ok(l.as("Org1/Agent1").SubmitUsage(ctx, recs, client.UsageOptions{}))(t)
	if rep.Accepted != 0 || rep.Duplicates != 2 {
		t.Fatalf("usage resubmitted (derived IDs must repeat): %+v", rep)
	}
	r := ok(l.as("Org1/Admin").UploadRule(ctx, client.RuleMeta{Name: "ecs", Version: "1.0.0", Types: []string{"ecs"}, Author: "tests"}, ecsHourly(t)))(t)
	if _, _, err := l.as("Org1/Admin").VoteRule(ctx, "ecs@1.0.0", "approve"); err != nil {
		t.Fatal(err)
	}
	_, rule, err := l.as("Org2/Admin").VoteRule(ctx, r.Hash, "approve")
	if err != nil || rule.Status != "approved" {
		t.Fatalf("second approval: %+v, %v", rule, err)
	}
	ok(l.as("Org3/Admin").ActivateRule(ctx, "ecs", "ecs@1.0.0", ""))(t)
	l.now = t0.Add(47*time.Hour + 30*time.Minute)
	rel := ok(org2.ReleaseResource(ctx, "202202150002"))(t)
	if rel.Bill == nil || rel.Bill.Amount != 4288 {
		t.Fatalf("release: %+v", rel)
	}
	b := ok(org2.Bill(ctx, rel.Bill.ID))(t)
	if b.Amount != rel.Bill.Amount || b.ID != rel.Bill.ID || len(b.Lines) == 0 {
		t.Fatalf("bill %+v of release %+v", b, rel.Bill)
	}
	return b
}

func TestStoryThroughClient(t *testing.T) {
	l := newLedger(t)
	b := l.story()
	ctx := context.Background()
	org1 := l.as("Org1/Admin")
	bills := ok(org1.Bills(ctx, client.BillFilter{Role: "provider"}))(t)
	if len(bills) != 1 || bills[0].ID != b.ID {
		t.Fatalf("provider bills %+v", bills)
	}
	tot := ok(org1.ProviderTotalCost(ctx, "Org1MSP"))(t)
	if len(tot.Receivable) != 1 || tot.Receivable[0].Amount != 4288 || tot.Receivable[0].Counterparty != "Org2MSP" {
		t.Fatalf("provider totals %+v", tot)
	}
	for _, who := range []string{"Org1/Agent1", "Org2/User1"} {
		v := ok(verify.Bill(ctx, l.as(who), b.ID, verify.Options{}))(t)
		if !v.OK || v.Err() != nil || v.Amount != 4288 || v.GasUsed != b.GasUsed {
			t.Fatalf("verify as %s: %+v", who, v)
		}
	}
	// A later change of the quota does not break the recomputation: the
	// version in force when the bill was issued is found in the history.
	l.now = l.now.Add(time.Hour)
	ok(org1.SetQuota(ctx, "Org2MSP", map[string]int64{"max_days": 30, "vcpu": 4}))(t)
	if v := ok(verify.Bill(ctx, l.as("Org2/User1"), b.ID, verify.Options{}))(t); !v.OK {
		t.Fatalf("verify after a quota change: %+v", v.Checks)
	}
	code, hash, err := l.as("Org3/User1").RuleCode(ctx, "ecs@1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if hash != b.Rule.Hash || len(code) == 0 {
		t.Fatalf("RuleCode: %s", hash)
	}
	h := ok(l.as("Org2/User1").History(ctx, "resource/202202150002"))(t)
	if len(h) != 3 { // requested, active, released
		t.Fatalf("history: %d versions", len(h))
	}
	if _, err := org1.History(ctx, "usage/x"); client.KindOf(err) != client.KindInvalid {
		t.Fatalf("history of a key without history: %v", err)
	}
}

// tampered returns a bill with a different amount than the ledger holds,
// as a compromised or buggy peer might.
type tampered struct{ client.Backend }

func (b tampered) Evaluate(ctx context.Context, fn string, args ...string) ([]byte, error) {
	out, err := b.Backend.Evaluate(ctx, fn, args...)
	if err != nil || fn != "BillGet" {
		return out, err
	}
	var bill map[string]any
	if err := json.Unmarshal(out, &bill); err != nil {
		return nil, err
	}
	bill["amount"] = 4289
	return json.Marshal(bill)
}

func TestVerifyBillMismatch(t *testing.T) {
	l := newLedger(t)
	b := l.story()
	v2, _ := l.e.As("Org2/User1")
	v, err := verify.Bill(context.Background(), client.New(tampered{v2}), b.ID, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.OK {
		t.Fatal("a tampered amount verified")
	}
	var bad []string
	for _, c := range v.Checks {
		if !c.OK {
			bad = append(bad, c.Name)
		}
	}
	if strings.Join(bad, ",") != "amount" {
		t.Fatalf("failed checks %v, want amount only", bad)
	}
	var ce *client.Error
	if !errors.As(v.Err(), &ce) || ce.Kind != client.KindMismatch || ce.ExitCode() != 5 || !strings.Contains(ce.Msg, "amount differ") {
		t.Fatalf("Err() = %#v", v.Err())
	}
}

func TestEmbeddedIdentities(t *testing.T) {
	l := newLedger(t)
	l.e.Close()
	for _, tc := range []struct {
		as, msp string
		kind    client.Kind
		msg     string
	}{
		{"", "Org1MSP", 0, ""},
		{"Org2/User1", "Org2MSP", 0, ""},
		{"org3msp/agent1", "Org3MSP", 0, ""}, // MSP ID and user, any case
		{"Org2", "", client.KindInvalid, "must be ORG/USER"},
		{"Org9/Admin", "", client.KindInvalid, "names no local org Org9"},
		{"Org1/Bob", "", client.KindInvalid, "names no user Bob of Org1"},
	} {
		t.Run(tc.as, func(t *testing.T) {
			e, err := embedded.Open(l.dir, embedded.Options{As: tc.as, NoSync: true})
			if tc.msg == "" {
				if err != nil || e.MSPID() != tc.msp {
					t.Fatalf("got %v, %v", e, err)
				}
				e.Close()
				return
			}
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Kind != tc.kind || !strings.Contains(ce.Msg, tc.msg) || ce.Hint == "" {
				t.Fatalf("got %#v; want %q", err, tc.msg)
			}
		})
	}
	if _, err := embedded.Open(t.TempDir(), embedded.Options{}); client.KindOf(err) != client.KindNotFound {
		t.Fatalf("an empty directory: %v", err)
	}
	if _, err := embedded.Init(context.Background(), l.dir, embedded.InitOptions{}); err == nil || !strings.Contains(err.Error(), "already holds a fedmeter ledger") {
		t.Fatalf("init twice: %v", err)
	}
	// Readers share the ledger (issue 19 item 6).
	e, err := embedded.Open(l.dir, embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e2, err := embedded.Open(l.dir, embedded.Options{NoSync: true, Wait: -1})
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	e2.Close()
}

// Issue 19 item 6: while an import runs, other processes read (between its
// transactions: the importer holds the ledger for writing only while a
// transaction commits); a writer that finds the ledger held gets KindBusy
// (exit 8), not a rule failure; a read-only folder is readable.
func TestEmbeddedSharing(t *testing.T) {
	l, ctx := usageLedger(t)
	l.now = t0.Add(20 * time.Hour)
	var recs []client.UsageRecord
	for i := 0; i < 12; i++ {
		recs = append(recs, client.UsageRecord{ID: fmt.Sprintf("s-%d", i), Resource: "r-1", Metric: "egress_gib", Quantity: 1,
			Start: t0.Unix() + int64(i)*60, End: t0.Unix() + int64(i+1)*60})
	}
	reads := 0
	during := func(done, total int) {
		if done == total {
			return
		}
		// Another opener (its own file descriptor and lock: another
		// process, as far as the lock is concerned) reads mid-import.
		r, err := embedded.Open(l.dir, embedded.Options{As: "Org2/User1", Wait: -1})
		if err != nil {
			t.Errorf("reading during the import, after %d of %d records: %v", done, total, err)
			return
		}
		defer r.Close()
		if _, err := client.New(r).Resource(ctx, "r-1"); err != nil {
			t.Errorf("read during the import: %v", err)
		}
		if h, _, err := r.Ledger().Height(); err != nil || h == 0 {
			t.Errorf("height during the import: %d, %v", h, err)
		}
		reads++
	}
	rep, err := l.as("Org1/Agent1").SubmitUsage(ctx, recs, client.UsageOptions{BatchSize: 3, Progress: during})
	if err != nil || rep.Accepted != 12 || reads != 3 {
		t.Fatalf("import: %+v, %v, %d reads", rep, err, reads)
	}

	// Item 8: an all-duplicate rerun changes nothing and appends no block.
	h0, _, _ := l.e.Ledger().Height()
	rep, err = l.as("Org1/Agent1").SubmitUsage(ctx, recs, client.UsageOptions{BatchSize: 3})
	if err != nil || rep.Duplicates != 12 || rep.Unchanged != 4 {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}
	if h1, _, _ := l.e.Ledger().Height(); h1 != h0 {
		t.Fatalf("an all-duplicate rerun appended %d blocks", h1-h0)
	}

	// A writer that cannot get the ledger: KindBusy, exit 8, a hint. (An
	// open Embedded holds a shared lock between its Submits, so the
	// fixture's must go first.)
	l.e.Close()
	r, err := embedded.Open(l.dir, embedded.Options{As: "Org2/User1"})
	if err != nil {
		t.Fatal(err)
	}
	busy, err := embedded.Open(l.dir, embedded.Options{As: "Org1/Agent1", Wait: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.New(busy).SubmitUsage(ctx, recs[:1], client.UsageOptions{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != client.KindBusy || ce.ExitCode() != 8 || !strings.Contains(ce.Msg, "is busy") || !strings.Contains(ce.Hint, "Wait") {
		t.Fatalf("a writer while another process reads: %#v", err)
	}
	r.Close()
	if _, err := client.New(busy).SubmitUsage(ctx, recs[:1], client.UsageOptions{}); err != nil {
		t.Fatalf("the same writer once the reader is gone: %v", err)
	}
	busy.Close()

	// A read-only folder (a copy kept for auditors, a mounted backup).
	if os.Geteuid() == 0 {
		t.Log("running as root: permissions do not stop root; checking the read-only open all the same")
	}
	var paths []string
	filepath.WalkDir(l.dir, func(p string, d os.DirEntry, err error) error { paths = append(paths, p); return nil })
	for i := len(paths) - 1; i >= 0; i-- {
		mode := os.FileMode(0o444)
		if fi, err := os.Stat(paths[i]); err == nil && fi.IsDir() {
			mode = 0o555
		}
		os.Chmod(paths[i], mode)
	}
	t.Cleanup(func() {
		for _, p := range paths {
			os.Chmod(p, 0o700)
		}
	})
	ro, err := embedded.Open(l.dir, embedded.Options{As: "Org2/User1"})
	if err != nil {
		t.Fatalf("a read-only folder: %v", err)
	}
	defer ro.Close()
	if u, err := client.New(ro).Usage(ctx, "r-1"); err != nil || len(u) != 12 {
		t.Fatalf("usage from a read-only folder: %d records, %v", len(u), err)
	}
}

// Issue 19 item 5: an Admin certificate of a fourth org's own CA with its
// mspid file edited to Org2MSP was counted as Org2's vote. The ledger keeps
// each org's root certificates (init, org add) and refuses the forgery.
func TestForgedOrgIdentity(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	l.e.Close()
	if _, err := embedded.AddOrg(l.dir, embedded.OrgSpec{Name: "Org4", MSPID: "Org4MSP"}); err != nil {
		t.Fatal(err)
	}
	mspidFile := filepath.Join(l.dir, "orgs", "org4.example.com", "users", "Admin@org4.example.com", "msp", "mspid")
	if err := os.WriteFile(mspidFile, []byte("Org2MSP\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := embedded.Open(l.dir, embedded.Options{As: "Org4/Admin", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.MSPID() != "Org2MSP" {
		t.Fatalf("the edited identity claims %s", e.MSPID())
	}
	_, err = client.New(e).Consortium(ctx)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != client.KindDenied ||
		!strings.Contains(ce.Msg, "claims Org2MSP but its certificate was not issued by Org2MSP's certificate authority") {
		t.Fatalf("forged Org2 identity: %#v", err)
	}
	// Org4's own identities work.
	e4, err := embedded.Open(l.dir, embedded.Options{As: "Org4/User1", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e4.Close()
	if _, err := client.New(e4).Consortium(ctx); err != nil {
		t.Fatalf("Org4's real identity: %v", err)
	}
}

func TestInitEmbeddedRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    embedded.InitOptions
		msg  string
	}{
		{"bad org name", embedded.InitOptions{Orgs: []embedded.OrgSpec{{Name: "1org", MSPID: "X"}}}, "org name \"1org\" is not valid"},
		{"twice", embedded.InitOptions{Orgs: []embedded.OrgSpec{{Name: "A", MSPID: "AMSP"}, {Name: "a", MSPID: "BMSP"}}}, "is given twice"},
		{"bad policy", embedded.InitOptions{Policy: "most"}, "policy \"most\" is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "l")
			_, err := embedded.Init(context.Background(), dir, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v; want %q", err, tc.msg)
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
				t.Fatalf("a failed init left %s behind", dir)
			}
		})
	}
}

func TestContractErrorKinds(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		who  string
		run  func(c *client.Client) error
		kind client.Kind
	}{
		{"unknown resource", "Org2/User1", func(c *client.Client) error { _, err := c.Resource(ctx, "nope"); return err }, client.KindNotFound},
		{"unknown bill", "Org2/User1", func(c *client.Client) error { _, err := c.Bill(ctx, "nope:000001"); return err }, client.KindNotFound},
		{"unknown rule", "Org2/User1", func(c *client.Client) error { _, err := c.Rule(ctx, "nope@1.0.0"); return err }, client.KindNotFound},
		{"no quota", "Org2/User1", func(c *client.Client) error { _, err := c.Quota(ctx, "Org1MSP", "Org2MSP"); return err }, client.KindNotFound},
		{"not an admin", "Org1/User1", func(c *client.Client) error {
			_, err := c.SetPrice(ctx, "ecs", client.Prices{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{"vcpu_hour": 1}}, "")
			return err
		}, client.KindDenied},
		{"bad argument", "Org1/Admin", func(c *client.Client) error {
			_, err := c.SetPrice(ctx, "ecs", client.Prices{Currency: "cny", Scale: 2, UnitPrices: map[string]int64{"vcpu_hour": 1}}, "")
			return err
		}, client.KindInvalid},
		{"module rejected", "Org1/Admin", func(c *client.Client) error {
			_, err := c.UploadRule(ctx, client.RuleMeta{Name: "junk", Version: "1.0.0", Types: []string{"ecs"}, Author: "t"}, []byte("not wasm"))
			return err
		}, client.KindRule},
		{"upload by a non-admin", "Org1/User1", func(c *client.Client) error {
			_, err := c.UploadRule(ctx, client.RuleMeta{Name: "junk", Version: "1.0.0", Types: []string{"ecs"}, Author: "t"}, []byte("not wasm"))
			return err
		}, client.KindDenied},
		{"bad role", "Org1/Admin", func(c *client.Client) error { _, err := c.Bills(ctx, client.BillFilter{Role: "both"}); return err }, client.KindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(l.as(tc.who))
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Kind != tc.kind {
				t.Fatalf("got %#v (%v); want kind %v", err, err, tc.kind)
			}
			if ce.Msg == "" || strings.Contains(ce.Msg, "\n") {
				t.Fatalf("message %q is not one line", ce.Msg)
			}
		})
	}
}

func TestOpenAt(t *testing.T) {
	l := newLedger(t)
	l.e.Close()
	// The ledger's last transaction is at t0-1h: a write at --at cannot go
	// before it; a read may (a script's reads replay in any order).
	past, err := embedded.Open(l.dir, embedded.Options{At: t0.Add(-2 * time.Hour)})
	if err != nil {
		t.Fatalf("opening at a past time (to read): %v", err)
	}
	if _, err := past.Evaluate(context.Background(), "ConsortiumGet"); err != nil {
		t.Fatalf("a read at a past time: %v", err)
	}
	if _, err := past.Submit(context.Background(), "PriceSet", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":1}}`, ""); err == nil || !strings.Contains(err.Error(), "time cannot go backwards") {
		t.Fatalf("a write at a past time: %v", err)
	}
	past.Close()
	b, err := embedded.Open(l.dir, embedded.Options{At: t0})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := b
	if _, err := b.Submit(context.Background(), "PriceSet", "ecs", `{"currency":"CNY","scale":2,"unit_prices":{"vcpu_hour":1}}`, ""); err != nil {
		t.Fatal(err)
	}
	if last, _ := e.LastTxTime(); !last.Equal(t0) {
		t.Fatalf("the transaction ran at %v, want %v", last, t0)
	}
}

// usageLedger is a ledger at t0 where Org2 holds Org1's resource r-1
// (type ecs, active) for Org1's agent to report on.
func usageLedger(t *testing.T) (*ledger, context.Context) {
	t.Helper()
	l := newLedger(t)
	ctx := context.Background()
	l.now = t0
	ok(l.as("Org1/Admin").SetPrice(ctx, "ecs", client.Prices{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{"vcpu_hour": 12}}, ""))(t)
	ok(l.as("Org1/Admin").SetQuota(ctx, "Org2MSP", map[string]int64{"vcpu": 4}))(t)
	ok(l.as("Org2/User1").RequestResource(ctx, client.ResourceRequest{ID: "r-1", Provider: "Org1MSP", Type: "ecs", Days: 1, Spec: map[string]int64{"vcpu": 1}}))(t)
	ok(l.as("Org1/Agent1").ActivateResource(ctx, "r-1"))(t)
	return l, ctx
}

// TestSubmitUsagePeriodRowError: the metrics of a resource over one period
// travel as one period row; a refused one is still named by its file line.
func TestSubmitUsagePeriodRowError(t *testing.T) {
	l, ctx := usageLedger(t)
	l.now = t0.Add(2 * time.Hour)
	s := t0.Unix()
	csv := fmt.Sprintf("resource,metric,quantity,start,end\nr-1,egress_gib,1,%d,%d\nr-1,cpu_seconds,60,%d,%d\nr-1,gpu_seconds,5,%d,%d\nr-1,egress_gib,2,%d,%d\n",
		s, s+3600, s+3600, s+7200, s+3600, s+7200, s+3600, s+7200)
	f, err := client.ReadUsage(strings.NewReader(csv), "usage.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.as("Org1/Agent1").SubmitUsageFile(ctx, f, client.UsageOptions{})
	var ce *client.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "usage.csv line 4: batch 1 of 1 was refused: metric gpu_seconds is not a metric of type ecs") {
		t.Fatalf("got %v", err)
	}
	f.Records[2].Metric = "cpu_seconds" // now twice in the period: a row of its own, refused as a changed record
	rep, err := l.as("Org1/Agent1").SubmitUsageFile(ctx, f, client.UsageOptions{})
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "usage.csv line 4: batch 1 of 1 was refused") {
		t.Fatalf("got %+v, %v", rep, err)
	}
	f.Records = append(f.Records[:2], f.Records[3])
	f.Lines = append(f.Lines[:2], f.Lines[3])
	rep, err = l.as("Org1/Agent1").SubmitUsageFile(ctx, f, client.UsageOptions{})
	if err != nil || rep.Accepted != 3 {
		t.Fatalf("got %+v, %v", rep, err)
	}
	recs := ok(l.as("Org2/User1").Usage(ctx, "r-1"))(t)
	if len(recs) != 3 || recs[1].Metric != "cpu_seconds" || recs[1].Quantity != 60 || recs[2].Metric != "egress_gib" || recs[2].Quantity != 2 {
		t.Fatalf("on the ledger: %+v", recs)
	}
}

// TestSubmitUsageTableError: the same metrics of several resources over one
// period travel as one period table; a refused record in a later row is
// still named by its file line.
func TestSubmitUsageTableError(t *testing.T) {
	l, ctx := usageLedger(t)
	ok(l.as("Org2/User1").RequestResource(ctx, client.ResourceRequest{ID: "r-2", Provider: "Org1MSP", Type: "ecs", Days: 1, Spec: map[string]int64{"vcpu": 1}}))(t)
	ok(l.as("Org1/Agent1").ActivateResource(ctx, "r-2"))(t)
	l.now = t0.Add(2 * time.Hour)
	s, e := t0.Unix()+60, t0.Unix()+3600
	var csv strings.Builder
	csv.WriteString("resource,metric,quantity,start,end\n")
	for _, r := range []string{"r-1", "r-2", "r-3"} { // r-3 was never requested
		fmt.Fprintf(&csv, "%s,egress_gib,1,%d,%d\n%s,cpu_seconds,60,%d,%d\n", r, s, e, r, s, e)
	}
	f, err := client.ReadUsage(strings.NewReader(csv.String()), "usage.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	if arg := client.EncodeUsageBatch(f.Records); !strings.HasPrefix(arg, `[{"start":`) || strings.Count(arg, "{") != 1 {
		t.Fatalf("not sent as one table: %s", arg)
	}
	_, err = l.as("Org1/Agent1").SubmitUsageFile(ctx, f, client.UsageOptions{})
	var ce *client.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "usage.csv line 6: batch 1 of 1 was refused") || !strings.Contains(ce.Msg, "r-3") {
		t.Fatalf("got %v", err)
	}
	f.Records, f.Lines = f.Records[:4], f.Lines[:4]
	rep, err := l.as("Org1/Agent1").SubmitUsageFile(ctx, f, client.UsageOptions{})
	if err != nil || rep.Accepted != 4 {
		t.Fatalf("got %+v, %v", rep, err)
	}
	for _, r := range []string{"r-1", "r-2"} {
		recs := ok(l.as("Org2/User1").Usage(ctx, r))(t)
		if len(recs) != 2 || recs[0].Metric != "cpu_seconds" || recs[0].Quantity != 60 || recs[1].Metric != "egress_gib" || recs[1].Quantity != 1 {
			t.Fatalf("%s on the ledger: %+v", r, recs)
		}
	}
}

// A batch refused halfway leaves the earlier batches on the ledger; after
// the bad record is fixed, the same submission finishes the job and counts
// nothing twice.
func TestSubmitUsageRerunAfterFailure(t *testing.T) {
	l, ctx := usageLedger(t)
	l.now = t0.Add(10 * time.Hour)
	var csv strings.Builder
	csv.WriteString("id,resource,metric,quantity,start,end\n")
	for i := 0; i < 10; i++ {
		end := t0.Unix() + int64(i+1)*3600
		metric := "egress_gib"
		if i == 7 {
			metric = "gpu_seconds" // not a metric of type ecs: refused by the contract
		}
		fmt.Fprintf(&csv, "u-%d,r-1,%s,1,%d,%d\n", i, metric, end-3600, end)
	}
	f, err := client.ReadUsage(strings.NewReader(csv.String()), "usage.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	agent := l.as("Org1/Agent1")
	rep, err := agent.SubmitUsageFile(ctx, f, client.UsageOptions{BatchSize: 3})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != client.KindInvalid ||
		!strings.Contains(ce.Msg, "usage.csv line 9: batch 3 of 4 was refused (batches 1 to 2, 6 records, are on the ledger)") ||
		!strings.Contains(ce.Msg, "gpu_seconds is not a metric of type ecs") || !strings.Contains(ce.Hint, "submit the same records again") {
		t.Fatalf("got %#v", err)
	}
	if rep.Accepted != 6 {
		t.Fatalf("before the failure: %+v", rep)
	}
	f.Records[7].Metric = "egress_gib"
	f.Records[7].ID = "u-7b"
	rep, err = agent.SubmitUsageFile(ctx, f, client.UsageOptions{BatchSize: 3})
	if err != nil || rep.Accepted != 4 || rep.Duplicates != 6 {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}
	recs := ok(l.as("Org2/User1").Usage(ctx, "r-1"))(t)
	if len(recs) != 10 {
		t.Fatalf("%d records on the ledger, want 10", len(recs))
	}
	if _, err := l.as("Org2/User1").SubmitUsage(ctx, f.Records[:1], client.UsageOptions{}); client.KindOf(err) != client.KindDenied {
		t.Fatalf("usage from the consumer: %v", err)
	}
	if _, err := agent.SubmitUsage(ctx, f.Records, client.UsageOptions{BatchSize: 1001}); client.KindOf(err) != client.KindInvalid {
		t.Fatalf("batch too large: %v", err)
	}
}

// TestRequestResources: a cluster in one transaction, counted against the
// quota together; too many or none are refused before anything is sent.
func TestRequestResources(t *testing.T) {
	l, ctx := usageLedger(t) // quota vcpu 4 at Org1MSP, r-1 (vcpu 1) held
	c := l.as("Org2/User1")
	req := client.ResourceRequest{Provider: "Org1MSP", Type: "ecs", Days: 1, Spec: map[string]int64{"vcpu": 1}}
	rs, err := c.RequestResources(ctx, req, []string{"c-1", "", "c-3"})
	if err != nil || len(rs) != 3 || rs[0].ID != "c-1" || rs[1].ID == "" || rs[2].ID != "c-3" {
		t.Fatalf("got %+v, %v", rs, err)
	}
	if q := ok(c.Quota(ctx, "Org1MSP", "Org2MSP"))(t); q.Used["vcpu"] != 4 {
		t.Fatalf("quota use %v, want vcpu 4", q.Used)
	}
	_, err = c.RequestResources(ctx, req, []string{"c-4"})
	var ce *client.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "exceeds the remaining quota") {
		t.Fatalf("over the quota: %v", err)
	}
	for _, ids := range [][]string{nil, make([]string, client.MaxRequestBatch+1)} {
		if _, err := c.RequestResources(ctx, req, ids); !errors.As(err, &ce) || ce.Kind != client.KindInvalid {
			t.Fatalf("%d IDs: %v", len(ids), err)
		}
	}
}

// editStore applies f to the embedded ledger's store of dir (closed).
func editStore(t *testing.T, dir string, f func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "ledger", "ledger.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(f); err != nil {
		t.Fatal(err)
	}
}

// Issue 19 item 5: bill verify rebuilt the input from the same (possibly
// altered) state, and a block's copy of a bill altered on disk passed. It
// now checks the ledger data it read against the blocks that wrote it, up
// to the head, which --head pins.
func TestVerifyBillChecksTheLedgerData(t *testing.T) {
	l := newLedger(t)
	b := l.story()
	ctx := context.Background()
	l.now = t0.Add(48 * time.Hour)
	ok(l.as("Org1/Admin").SetQuota(ctx, "Org3MSP", map[string]int64{"vcpu": 1}))(t) // a block after the bill's
	v := ok(verify.Bill(ctx, l.as("Org2/User1"), b.ID, verify.Options{}))(t)
	last := v.Checks[len(v.Checks)-1]
	if !v.OK || last.Name != "ledger data" || !last.OK || len(v.Head) != 64 || !strings.Contains(last.Recomputed, "chain to the head") {
		t.Fatalf("clean ledger: %+v", v)
	}
	head := v.Head
	if v := ok(verify.Bill(ctx, l.as("Org2/User1"), b.ID, verify.Options{Head: head}))(t); !v.OK {
		t.Fatalf("pinned to the right head: %+v", v.Checks)
	}
	other := strings.Repeat("ab", 32)
	v = ok(verify.Bill(ctx, l.as("Org2/User1"), b.ID, verify.Options{Head: other}))(t)
	if v.OK || !strings.Contains(v.Checks[len(v.Checks)-1].Recomputed, "not the pinned "+other) || client.KindOf(v.Err()) != client.KindMismatch {
		t.Fatalf("pinned to another head: %+v", v.Checks)
	}
	if _, err := verify.Bill(ctx, l.as("Org2/User1"), b.ID, verify.Options{Head: "xyz"}); client.KindOf(err) != client.KindInvalid {
		t.Fatalf("--head xyz: %v", err)
	}
	l.e.Close()

	// The block's copy of the bill altered (same length: it still decodes).
	from, to := []byte(`"amount":4288`), []byte(`"amount":4289`)
	editStore(t, l.dir, func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("blocks")).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if bytes.Contains(v, []byte("bill/"+b.ID)) && bytes.Contains(v, from) {
				return tx.Bucket([]byte("blocks")).Put(k, bytes.ReplaceAll(v, from, to))
			}
		}
		t.Fatal("no block wrote the bill")
		return nil
	})
	e, err := embedded.Open(l.dir, embedded.Options{As: "Org2/User1"})
	if err != nil {
		t.Fatal(err)
	}
	v = ok(verify.Bill(ctx, client.New(e), b.ID, verify.Options{}))(t)
	e.Close()
	last = v.Checks[len(v.Checks)-1]
	if v.OK || last.Name != "ledger data" || last.OK || !strings.Contains(last.Recomputed, "altered") {
		t.Fatalf("a block's copy of the bill altered: %+v", v.Checks)
	}
	var ce *client.Error
	if !errors.As(v.Err(), &ce) || ce.Kind != client.KindMismatch || !strings.Contains(ce.Msg, "ledger data") {
		t.Fatalf("Err() = %#v", v.Err())
	}
}

// Issue 19 item 5: a bill's index entry altered on disk made bill total
// show another sum than the bill. Open's check refuses to serve it.
func TestAlteredBillIndexIsNotServed(t *testing.T) {
	l := newLedger(t)
	b := l.story()
	ctx := context.Background()
	if tot := ok(l.as("Org1/Admin").Totals(ctx, time.Time{}, time.Time{}))(t); tot == nil {
		t.Fatal("no totals")
	}
	l.e.Close()
	edited := false
	editStore(t, l.dir, func(tx *bolt.Tx) error {
		st := tx.Bucket([]byte("state"))
		c := st.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if strings.HasSuffix(string(k), b.ID) && string(k) != "bill/"+b.ID && bytes.Contains(v, []byte(`"amount":4288`)) {
				edited = true
				return st.Put(bytes.Clone(k), bytes.ReplaceAll(v, []byte("4288"), []byte("4289")))
			}
		}
		return nil
	})
	if !edited {
		t.Fatal("no index entry found")
	}
	e, err := embedded.Open(l.dir, embedded.Options{As: "Org1/Admin"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = client.New(e).Totals(ctx, time.Time{}, time.Time{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != client.KindMismatch || !strings.Contains(ce.Msg, "altered outside the ledger") || !strings.Contains(ce.Hint, "ledger verify") {
		t.Fatalf("bill total on an altered index: %#v", err)
	}
}

// TestObserveRuleCalls: the rule call of a release reaches every observer
// registered with ObserveRuleCalls, with the gas the bill records; after
// stop, an observer hears nothing more while another still does.
func TestObserveRuleCalls(t *testing.T) {
	type log struct {
		sync.Mutex
		calls []chaincode.RuleCall
	}
	record := func(l *log) func(chaincode.RuleCall) {
		return func(c chaincode.RuleCall) {
			l.Lock()
			defer l.Unlock()
			l.calls = append(l.calls, c)
		}
	}
	count := func(l *log) int {
		l.Lock()
		defer l.Unlock()
		return len(l.calls)
	}
	var first, second log
	stop := embedded.ObserveRuleCalls(record(&first))
	defer embedded.ObserveRuleCalls(record(&second))()
	l := newLedger(t)
	b := l.story()
	stop()
	first.Lock()
	var billed []chaincode.RuleCall
	for _, c := range first.calls {
		if c.Hash == b.Rule.Hash && c.Outcome == chaincode.RuleOutcomeOK && c.GasUsed == b.GasUsed {
			billed = append(billed, c)
		}
	}
	heard := len(first.calls)
	first.Unlock()
	if len(billed) != 1 || billed[0].Rule != "ecs" {
		t.Fatalf("observed %+v; want one ok call of rule ecs (%s) with gas %d", first.calls, b.Rule.Hash, b.GasUsed)
	}
	before := count(&second)
	if _, err := l.as("Org1/Admin").Quote(context.Background(), client.QuoteRequest{Provider: "Org1MSP", Type: "ecs",
		Spec: map[string]int64{"vcpu": 1, "memory_gib": 1, "system_disk_gib": 40}, Start: strconv.FormatInt(t0.Unix()+50*3600, 10), End: strconv.FormatInt(t0.Unix()+51*3600, 10)}); err != nil {
		t.Fatal(err)
	}
	if count(&second) != before+1 {
		t.Fatalf("the observer still registered heard %d calls of a quote, want 1", count(&second)-before)
	}
	if count(&first) != heard {
		t.Fatalf("a stopped observer heard %d more calls", count(&first)-heard)
	}
}
