package serve

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/getkin/kin-openapi/openapi3filter"
)

func init() {
	// A rule's module as bytes: the document says string, binary.
	openapi3filter.RegisterBodyDecoder("application/wasm", openapi3filter.FileBodyDecoder)
}

func ecsModule(t testing.TB) []byte {
	t.Helper()
	code, err := os.ReadFile(filepath.Join("..", "..", "..", "chaincode", "testdata", "ecs_hourly.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func wantCode(t *testing.T, r resp, status int, code string) Problem {
	t.Helper()
	want(t, r, status)
	p := r.problem(t)
	if p.Code != code {
		t.Fatalf("code %q, want %q: %+v", p.Code, code, p)
	}
	return p
}

func TestWritePricesAndQuotas(t *testing.T) {
	e := newEnv(t)
	e.at(time.Hour)
	body := PriceSetBody{Currency: "CNY", Scale: 2, UnitPrices: map[string]int64{"vcpu_hour": 15, "memory_gib_hour": 3, "disk_gib_hour": 1,
		"public_ip_hour": 5, "egress_gib": 80}, EffectiveFrom: "2026-01-02T00:00:00Z"}
	r := e.post("Org1/Admin", "/api/v1/prices/Org1MSP/ecs", body)
	want(t, r, 201)
	var pb client.PriceBook
	r.json(t, &pb)
	if len(pb.Entries) != 2 || pb.Entries[1].UnitPrices["vcpu_hour"] != 15 || pb.Entries[1].EffectiveFrom != day.Add(24*time.Hour).Unix() {
		t.Fatalf("price book: %s", r.body)
	}
	// In force from the time given, not before.
	var now, later client.PriceInForce
	e.get("Org2/User1", "/api/v1/prices/Org1MSP/ecs").json(t, &now)
	e.get("Org2/User1", "/api/v1/prices/Org1MSP/ecs?at=2026-01-03T00:00:00Z").json(t, &later)
	if now.Entry.UnitPrices["vcpu_hour"] != 12 || later.Entry.UnitPrices["vcpu_hour"] != 15 {
		t.Fatalf("in force now %v, later %v", now.Entry.UnitPrices, later.Entry.UnitPrices)
	}
	// Another org's path; a non-admin; a bad time; a bad document.
	wantCode(t, e.post("Org2/Admin", "/api/v1/prices/Org1MSP/ecs", body), 403, "denied")
	wantCode(t, e.post("Org1/Agent1", "/api/v1/prices/Org1MSP/ecs", body), 403, "denied")
	bad := body
	bad.EffectiveFrom = "tomorrow"
	want(t, e.post("Org1/Admin", "/api/v1/prices/Org1MSP/ecs", bad), 400)
	bad = body
	bad.UnitPrices = map[string]int64{"vcpu_hour": -1}
	wantCode(t, e.post("Org1/Admin", "/api/v1/prices/Org1MSP/ecs", bad), 400, "bad_argument")
	want(t, e.do("Org1/Admin", "POST", "/api/v1/prices/Org1MSP/ecs", "text/plain", []byte("{}")), 415)
	want(t, e.do("Org1/Admin", "POST", "/api/v1/prices/Org1MSP/ecs", "application/json", []byte(`{"currency":`)), 400)

	// Quotas: the provider's admin grants; the consumer reads it.
	r = e.post("Org1/Admin", "/api/v1/quotas/Org1MSP/Org3MSP", QuotaSetBody{Limits: map[string]int64{"max_days": 30, "vcpu": 4}})
	want(t, r, 200)
	var q client.Quota
	e.get("Org3/Admin", "/api/v1/quotas/Org1MSP/Org3MSP").json(t, &q)
	if q.Limits["vcpu"] != 4 || q.Consumer != "Org3MSP" {
		t.Fatalf("quota: %+v", q)
	}
	wantCode(t, e.post("Org3/Admin", "/api/v1/quotas/Org1MSP/Org3MSP", QuotaSetBody{Limits: map[string]int64{"vcpu": 99}}), 403, "denied")
	want(t, e.post("Org1/Admin", "/api/v1/quotas/Org1MSP/Org3MSP", QuotaSetBody{}), 400)
	wantCode(t, e.post("Org1/Admin", "/api/v1/quotas/Org1MSP/Org3MSP", QuotaSetBody{Limits: map[string]int64{"vcpu": -4}}), 400, "bad_argument")
}

func TestWriteRules(t *testing.T) {
	e := newEnv(t)
	e.at(time.Hour)
	// The ECS rule with a custom section: other bytes, another rule.
	code := append(ecsModule(t), 0, 5, 4, 'n', 'e', 'x', 't')
	// JSON, the module base64.
	r := e.post("Org1/Admin", "/api/v1/rules", RuleUploadBody{Name: "ecs", Version: "2.0.0", Types: []string{"ecs"}, Author: "test", Module: code})
	want(t, r, 201)
	var rule client.Rule
	r.json(t, &rule)
	if rule.Version != "2.0.0" || rule.Status != "proposed" || rule.Size != len(code) {
		t.Fatalf("uploaded: %s", r.body)
	}
	// The same bytes again: a conflict (one code, one rule version).
	wantCode(t, e.do("Org2/Admin", "POST", "/api/v1/rules?name=ecs&version=2.0.1&types=ecs&author=test", "application/wasm", code), 409, "conflict")
	// The bytes as application/wasm, the metadata in the query.
	usd, err := os.ReadFile(filepath.Join("..", "..", "..", "chaincode", "testdata", "rule_usd.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	r = e.do("Org2/Admin", "POST", "/api/v1/rules?name=usd&version=1.0.0&types=ecs,gpu&author=Org2", "application/wasm", usd)
	want(t, r, 201)
	r.json(t, &rule)
	if rule.Name != "usd" || len(rule.ResourceTypes) != 2 || rule.Author != "Org2" || rule.Size != len(usd) {
		t.Fatalf("wasm upload: %s", r.body)
	}
	wantCode(t, e.do("Org1/Admin", "POST", "/api/v1/rules?name=bad&version=1.0.0&types=ecs&author=test", "application/wasm", []byte("\x00asm\x01\x00\x00\x00\xff")), 422, "rule_failed")
	want(t, e.do("Org1/Admin", "POST", "/api/v1/rules?name=ecs", "application/json", []byte(`{}`)), 400)
	want(t, e.do("Org1/Admin", "POST", "/api/v1/rules?version=1", "application/wasm", code), 400)
	want(t, e.do("Org1/Admin", "POST", "/api/v1/rules", "application/octet-stream", code), 415)
	want(t, e.post("Org1/Admin", "/api/v1/rules", RuleUploadBody{Name: "x", Version: "1", Types: []string{"ecs"}, Author: "a"}), 400)

	// Not approved yet: no activation.
	r = e.post("Org1/Admin", "/api/v1/rules/ecs@2.0.0/activations", ActivateBody{Type: "ecs"})
	if r.status < 400 {
		t.Fatalf("a proposed rule was activated: %s", r.body)
	}
	r.problem(t)
	for _, who := range []string{"Org1/Admin", "Org2/Admin"} {
		want(t, e.post(who, "/api/v1/rules/ecs@2.0.0/votes", VoteBody{Decision: "approve"}), 200)
	}
	want(t, e.post("Org1/Admin", "/api/v1/rules/ecs@2.0.0/activations", ActivateBody{}), 400)
	wantCode(t, e.post("Org2/User1", "/api/v1/rules/ecs@2.0.0/activations", ActivateBody{Type: "ecs"}), 403, "denied")
	r = e.post("Org1/Admin", "/api/v1/rules/ecs@2.0.0/activations", ActivateBody{Type: "ecs", EffectiveFrom: "2026-02-01T00:00:00Z"})
	want(t, r, 201)
	var acts client.Activations
	r.json(t, &acts)
	last := acts.Entries[len(acts.Entries)-1]
	if acts.Type != "ecs" || last.Version != "2.0.0" || last.EffectiveFrom != time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("activations: %s", r.body)
	}

	// Revocation: opened by an admin, voted through the votes route.
	wantCode(t, e.post("Org2/User1", "/api/v1/rules/ecs@1.0.0/revocation", RevocationBody{Reason: "x"}), 403, "denied")
	r = e.post("Org2/Admin", "/api/v1/rules/ecs@1.0.0/revocation", RevocationBody{Reason: "2.0.0 replaces it"})
	want(t, r, 201)
	var rv RuleVoteResult
	r.json(t, &rv)
	if rv.Proposal == nil || rv.Proposal.Kind != "rule.revoke" || rv.Rule.Version != "1.0.0" {
		t.Fatalf("revocation: %s", r.body)
	}
	wantCode(t, e.post("Org2/Admin", "/api/v1/rules/ecs@1.0.0/revocation", RevocationBody{Reason: "again"}), 409, "conflict")
	want(t, e.post("Org1/Admin", "/api/v1/rules/nope@9.0.0/revocation", RevocationBody{Reason: "x"}), 404)
	want(t, e.post("Org2/Admin", "/api/v1/rules/ecs@1.0.0/revocation", nil), 400)
}

func TestWriteProposals(t *testing.T) {
	e := newEnv(t)
	e.at(time.Hour)
	r := e.post("Org1/Admin", "/api/v1/proposals", ProposalBody{Kind: "member.add", Value: "Org4MSP", Reason: "a new site"})
	want(t, r, 201)
	var p client.Proposal
	r.json(t, &p)
	if p.Kind != "member.add" || p.Subject != "Org4MSP" || p.Status != "open" {
		t.Fatalf("proposal: %s", r.body)
	}
	// One consortium proposal at a time; only admins; the contract's
	// check of the kind.
	wantCode(t, e.post("Org2/Admin", "/api/v1/proposals", ProposalBody{Kind: "policy.set", Value: "all"}), 409, "conflict")
	wantCode(t, e.post("Org2/User1", "/api/v1/proposals", ProposalBody{Kind: "member.add", Value: "Org5MSP"}), 403, "denied")
	wantCode(t, e.post("Org1/Admin", "/api/v1/proposals", ProposalBody{Kind: "rule.approve", Value: "x"}), 400, "bad_argument")
	want(t, e.do("Org1/Admin", "POST", "/api/v1/proposals", "application/json", []byte(`{"kind":"member.add","value":"Org4MSP","extra":1}`)), 400)
	// Voted through the existing route.
	for _, who := range []string{"Org1/Admin", "Org2/Admin"} {
		want(t, e.post(who, "/api/v1/proposals/"+p.ID+"/votes", VoteBody{Decision: "approve"}), 200)
	}
	var m client.Consortium
	e.get("Org1/Admin", "/api/v1/members").json(t, &m)
	if len(m.Members) != 4 || m.Members[3] != "Org4MSP" && m.Members[0] != "Org4MSP" {
		t.Fatalf("members after the vote: %v", m.Members)
	}
}
