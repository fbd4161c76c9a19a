package chaincode

import (
	"strings"
	"testing"
)

func TestRouterMetadata(t *testing.T) {
	e := newEnv(t)
	md := e.eval("org1.user", "org.hyperledger.fabric:GetMetadata")
	for _, fn := range []string{"ConsortiumInit", "RuleUpload", "RuleVote", "RuleActivate", "PriceSet", "QuotaSet",
		"ResourceRequest", "ResourceRelease", "UsageSubmit", "BillClose", "BillListByProvider", "BillTotals", "BillQuote",
		"History", "InitPrice", "BilledECS", "QueryProviderTotalCost"} {
		if !strings.Contains(md, `"name":"`+fn+`"`) {
			t.Errorf("metadata lacks transaction %s", fn)
		}
	}
	if strings.Contains(md, `"name":"Pricer"`) {
		t.Errorf("helper Pricer is exposed as a transaction")
	}
	// The contract is also reachable by its name.
	e.fail("not initialized", "org1.user", "fedmeter:ConsortiumGet")
	e.fail("Function NoSuch not found", "org1.user", "NoSuch")
}

func TestConsortiumInit(t *testing.T) {
	members := js([]string{org1, org2, org3})
	cases := []struct {
		name, who, members, policy, types, want string
	}{
		{"non-admin", "org1.user", members, "", "", "only an admin of a founding org"},
		{"outsider", "org4.admin", members, "", "", "Org4MSP is not in members"},
		{"no members", "org1.admin", "[]", "", "", "members must name at least one"},
		{"bad member", "org1.admin", `["Org1MSP","bad/id"]`, "", "", `members entry "bad/id" is not valid`},
		{"duplicate member", "org1.admin", "Org1MSP,Org2MSP,Org1MSP", "", "", `members names "Org1MSP" twice`},
		{"bad policy", "org1.admin", members, "most", "", `policy "most" is not valid`},
		{"threshold too high", "org1.admin", members, "threshold:4", "", "needs more approvals than the 3 members"},
		{"threshold zero", "org1.admin", members, "threshold:0", "", "policy threshold must be between 1"},
		{"bad types", "org1.admin", members, "", `{"name":"ecs"}`, "types is not valid JSON"},
		{"bad type name", "org1.admin", members, "", `[{"name":"ECS","spec":[],"metrics":[]}]`, `types[0].name "ECS" is not valid`},
		{"unknown type field", "org1.admin", members, "", `[{"name":"ecs","price":1}]`, `unknown field "price"`},
		{"duplicate metric", "org1.admin", members, "", `[{"name":"ecs","spec":[],"metrics":["a","a"]}]`, `types[0].metrics names "a" twice`},
		{"duplicate type", "org1.admin", members, "", "[" + ecsType + "," + ecsType + "]", `types defines "ecs" twice`},
	}
	e := newEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "ConsortiumInit", c.members, c.policy, c.types)
		})
	}
	e.tb = t
	e.initConsortium()
	e.fail("already initialized", "org2.admin", "ConsortiumInit", members, "", "")
	cons := decode[Consortium](t, e.eval("org4.user", "ConsortiumGet"))
	if js(cons.Members) != js([]string{org1, org2, org3}) || cons.Policy.Kind != "majority" || len(cons.Types) != 2 || cons.Version != 1 {
		t.Fatalf("consortium %+v", cons)
	}
	e.fail("only member orgs may read the type catalog", "org4.user", "TypeList")
}

func TestPolicyRequired(t *testing.T) {
	cases := []struct {
		policy string
		n      int
		want   int
	}{
		{"majority", 1, 1}, {"majority", 2, 2}, {"majority", 3, 2}, {"majority", 4, 3}, {"majority", 5, 3},
		{"all", 3, 3}, {"any", 3, 1}, {"threshold:2", 5, 2},
	}
	for _, c := range cases {
		p, err := parsePolicy("policy", c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := required(p, c.n); got != c.want {
			t.Errorf("%s of %d: %d approvals, want %d", c.policy, c.n, got, c.want)
		}
	}
}

func TestConsortiumProposals(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()

	// Proposal refusals.
	for _, c := range []struct{ name, who, kind, value, want string }{
		{"non-admin", "org1.user", KindMemberAdd, org4, "only admins of member orgs may propose consortium changes; the caller is a client of Org1MSP"},
		{"non-member", "org4.admin", KindMemberAdd, org4, "only member orgs may propose consortium changes; Org4MSP is not a member"},
		{"bad kind", "org1.admin", "member.kick", org3, `kind "member.kick" is not valid`},
		{"rule kind", "org1.admin", KindRuleApprove, org3, "opened by RuleUpload or RuleRevoke"},
		{"add member twice", "org1.admin", KindMemberAdd, org2, "value Org2MSP is already a member"},
		{"remove non-member", "org1.admin", KindMemberRemove, org4, "value Org4MSP is not a member"},
		{"bad policy", "org1.admin", KindPolicySet, "threshold:9", "needs more approvals than the 3 members"},
		{"bad type", "org1.admin", KindTypeSet, `{"name":"gpu","spec":["Bad"],"metrics":[]}`, `value.spec entry "Bad" is not valid`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "ConsortiumPropose", c.kind, c.value, "")
		})
	}
	e.tb = t

	// Admit Org4: majority of 3 is 2.
	p := decode[Proposal](t, e.okEvent("ConsortiumProposed", "org1.admin", "ConsortiumPropose", KindMemberAdd, org4, "a new research cloud"))
	if p.Required != 2 || p.Status != ProposalOpen || len(p.Electorate) != 3 {
		t.Fatalf("proposal %+v", p)
	}
	e.fail("proposal "+p.ID+" is still open; one consortium proposal may be open at a time", "org2.admin", "ConsortiumPropose", KindPolicySet, "all", "")
	e.fail("only member orgs may vote on proposals", "org4.admin", "ConsortiumVote", p.ID, "approve")
	e.fail("only admins of member orgs may vote on proposals", "org2.user", "ConsortiumVote", p.ID, "approve")
	e.fail(`decision "yes" is not valid`, "org2.admin", "ConsortiumVote", p.ID, "yes")
	e.fail("proposal_id nope names no proposal", "org2.admin", "ConsortiumVote", "nope", "approve")
	e.okEvent("ConsortiumVoted", "org2.admin", "ConsortiumVote", p.ID, "approve")
	e.fail("Org2MSP already voted approve on proposal", "org2.admin", "ConsortiumVote", p.ID, "reject")
	p = decode[Proposal](t, e.okEvent("ConsortiumDecided", "org3.admin", "ConsortiumVote", p.ID, "approve"))
	if p.Status != ProposalApproved || len(p.Votes) != 2 || p.Decided == nil {
		t.Fatalf("decided proposal %+v", p)
	}
	e.fail("already approved; votes are closed", "org1.admin", "ConsortiumVote", p.ID, "approve")
	cons := decode[Consortium](t, e.eval("org4.user", "ConsortiumGet"))
	if js(cons.Members) != js([]string{org1, org2, org3, org4}) || cons.Version != 2 {
		t.Fatalf("consortium after admission %+v", cons)
	}

	// Policy "all" of 4: one reject decides (4 approvals can no longer happen).
	p = decode[Proposal](t, e.ok("org4.admin", "ConsortiumPropose", KindPolicySet, "all", ""))
	if p.Required != 3 { // majority of 4
		t.Fatalf("required %d", p.Required)
	}
	e.ok("org1.admin", "ConsortiumVote", p.ID, "reject")
	p = decode[Proposal](t, e.okEvent("ConsortiumDecided", "org2.admin", "ConsortiumVote", p.ID, "reject"))
	if p.Status != ProposalRejected {
		t.Fatalf("proposal %+v, want rejected (3 approvals of 4 impossible after 2 rejections)", p)
	}
	if cons := decode[Consortium](t, e.eval("org1.user", "ConsortiumGet")); cons.Policy.Kind != "majority" {
		t.Fatalf("policy changed by a rejected proposal: %+v", cons.Policy)
	}

	// A new type, then removal of Org4.
	p = decode[Proposal](t, e.ok("org1.admin", "ConsortiumPropose", KindTypeSet, `{"name":"gpu","spec":["gpus"],"metrics":["gpu_seconds"]}`, ""))
	for _, who := range []string{"org1.admin", "org2.admin", "org3.admin"} {
		e.ok(who, "ConsortiumVote", p.ID, "approve")
	}
	types := decode[[]TypeDef](t, e.eval("org1.user", "TypeList"))
	if len(types) != 3 || types[1].Name != "gpu" {
		t.Fatalf("types %+v", types)
	}
	p = decode[Proposal](t, e.ok("org1.admin", "ConsortiumPropose", KindMemberRemove, org4, "left the federation"))
	e.ok("org1.admin", "ConsortiumVote", p.ID, "approve")
	e.ok("org2.admin", "ConsortiumVote", p.ID, "approve")
	e.ok("org3.admin", "ConsortiumVote", p.ID, "approve")
	cons = decode[Consortium](t, e.eval("org1.user", "ConsortiumGet"))
	if js(cons.Members) != js([]string{org1, org2, org3}) {
		t.Fatalf("members %v", cons.Members)
	}
	e.fail("only member orgs may read proposals", "org4.admin", "ProposalGet", p.ID)

	all := decode[Page[Proposal]](t, e.eval("org1.user", "ProposalList", "", "2", ""))
	if all.Count != 2 || all.Bookmark == "" {
		t.Fatalf("first page %+v", all)
	}
	rest := decode[Page[Proposal]](t, e.eval("org1.user", "ProposalList", "", "2", all.Bookmark))
	if rest.Count != 2 || rest.Bookmark != "" || rest.Items[0].ID == all.Items[1].ID {
		t.Fatalf("second page %+v", rest)
	}
	rejected := decode[Page[Proposal]](t, e.eval("org1.user", "ProposalList", ProposalRejected, "", ""))
	if rejected.Count != 1 {
		t.Fatalf("rejected proposals %+v", rejected)
	}
	hist := decode[[]HistoryEntry](t, e.eval("org2.user", "History", "consortium", ""))
	if len(hist) != 4 {
		t.Fatalf("consortium history has %d versions, want 4", len(hist))
	}
}

func TestRuleGovernance(t *testing.T) {
	e := newEnv(t)
	code := wasmFile(t, "ecs_hourly.wasm")
	e.fail("not initialized", "org1.admin", "RuleUpload", "ecs", "1.0.0", "ecs", "me", "", b64(code))
	e.initConsortium()

	// Upload refusals.
	for _, c := range []struct{ name, who, rname, version, types, author, module, want string }{
		{"outsider", "org4.user", "ecs", "1.0.0", "ecs", "me", b64(code), "only member orgs may upload rules; Org4MSP is not a member"},
		{"bad name", "org1.admin", "ECS", "1.0.0", "ecs", "me", b64(code), `name "ECS" is not valid`},
		{"bad version", "org1.admin", "ecs", "1.0", "ecs", "me", b64(code), `version "1.0" is not valid: it must be a semantic version`},
		{"unknown type", "org1.admin", "ecs", "1.0.0", "ecs,gpu", "me", b64(code), `resource_types entry "gpu" is not a resource type of the consortium catalog`},
		{"no author", "org1.admin", "ecs", "1.0.0", "ecs", "", b64(code), "author is required"},
		{"no module", "org1.admin", "ecs", "1.0.0", "ecs", "me", "", "module is required"},
		{"bad base64", "org1.admin", "ecs", "1.0.0", "ecs", "me", "!!!", "module is not valid base64"},
		{"not wasm", "org1.admin", "ecs", "1.0.0", "ecs", "me", b64([]byte("hello world")), "module was rejected by the host: invalid module"},
		{"no abi marker", "org1.admin", "ecs", "1.0.0", "ecs", "me", b64(wasmFile(t, "rule_noabi.wasm")), "module was rejected by the host"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "RuleUpload", c.rname, c.version, c.types, c.author, "", c.module)
		})
	}
	e.tb = t

	hash := e.uploadRule("ecs", "1.0.0", code)
	e.fail("module was already uploaded as rule ecs 1.0.0", "org2.admin", "RuleUpload", "ecs2", "1.0.0", "ecs", "me", "", b64(code))
	other := wasmFile(t, "rule_trap.wasm")
	e.fail("version 1.0.0 of rule ecs already exists", "org2.admin", "RuleUpload", "ecs", "1.0.0", "ecs", "me", "", b64(other))

	// Vote refusals.
	otherHash := hashOf(other)
	for _, c := range []struct{ name, who, rname, version, hash, decision, want string }{
		{"non-member", "org4.admin", "ecs", "1.0.0", hash, "approve", "only member orgs may vote on rules; Org4MSP is not a member"},
		{"non-admin", "org2.user", "ecs", "1.0.0", hash, "approve", `only admins of member orgs may vote on rules; the caller is a client of Org2MSP without the "admin" OU`},
		{"different hash", "org2.admin", "ecs", "1.0.0", otherHash, "approve", "code_hash " + otherHash + " is not the code of rule ecs 1.0.0"},
		{"bad hash", "org2.admin", "ecs", "1.0.0", "abc", "approve", `code_hash "abc" is not valid`},
		{"unknown version", "org2.admin", "ecs", "2.0.0", hash, "approve", "rule ecs 2.0.0 does not exist"},
		{"bad decision", "org2.admin", "ecs", "1.0.0", hash, "ok", `decision "ok" is not valid`},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "RuleVote", c.rname, c.version, c.hash, c.decision)
		})
	}
	e.tb = t

	e.fail("rule ecs 1.0.0 is proposed, not approved; only a rule the members approved can be activated", "org1.admin", "RuleActivate", "ecs", hash, "")
	e.okEvent("RuleVoted", "org1.admin", "RuleVote", "ecs", "1.0.0", hash, "approve")
	e.fail("Org1MSP already voted approve", "org1.admin", "RuleVote", "ecs", "1.0.0", hash, "approve")
	st := decode[ruleStatus](t, e.eval("org3.user", "RuleStatus", "ecs@1.0.0"))
	if st.Rule.Status != RuleProposed || len(st.Proposal.Votes) != 1 || st.Proposal.Votes[0].Org != org1 {
		t.Fatalf("status %+v", st)
	}
	e.okEvent("RuleDecided", "org2.admin", "RuleVote", "ecs", "1.0.0", hash, "approve")
	r := decode[Rule](t, e.eval("org3.user", "RuleGet", hash))
	if r.Status != RuleApproved || r.Decided == nil || r.Profile == "" || r.ABI != 1 || r.Size != len(code) {
		t.Fatalf("rule %+v", r)
	}

	// Activation refusals, then activation.
	e.fail("only admins of member orgs may activate rules", "org1.user", "RuleActivate", "ecs", hash, "")
	e.fail(`resource_type "gpu" is not a resource type`, "org1.admin", "RuleActivate", "gpu", hash, "")
	e.fail("resource_type obs is not one of the types rule ecs 1.0.0 prices (ecs)", "org1.admin", "RuleActivate", "obs", hash, "")
	e.fail("activations cannot be backdated", "org1.admin", "RuleActivate", "ecs", hash, js(t0.Unix()-1))
	e.fail("code_hash "+otherHash+" names no uploaded rule", "org1.admin", "RuleActivate", "ecs", otherHash, "")
	e.okEvent("RuleActivated", "org1.admin", "RuleActivate", "ecs", hash, "")
	e.fail("already has an activation for ecs", "org2.admin", "RuleActivate", "ecs", hash, "")
	acts := decode[Activations](t, e.eval("org2.user", "RuleActivations", "ecs"))
	if len(acts.Entries) != 1 || acts.Entries[0].Hash != hash || acts.Entries[0].EffectiveFrom != t0.Unix() {
		t.Fatalf("activations %+v", acts)
	}

	// A second version rejected by 2 of 3.
	h2 := e.uploadRule("ecs", "1.1.0", other)
	e.ok("org2.admin", "RuleVote", "ecs", "1.1.0", h2, "reject")
	e.okEvent("RuleDecided", "org3.admin", "RuleVote", "ecs", "1.1.0", h2, "reject")
	if r := decode[Rule](t, e.eval("org1.user", "RuleGet", "ecs@1.1.0")); r.Status != RuleRejected {
		t.Fatalf("rule %+v, want rejected", r)
	}
	e.fail("rule ecs 1.1.0 is rejected, not approved", "org1.admin", "RuleActivate", "ecs", h2, "")

	// Queries.
	list := decode[Page[Rule]](t, e.eval("org3.user", "RuleList", "", ""))
	if list.Count != 2 {
		t.Fatalf("rules %+v", list)
	}
	got := decode[map[string]string](t, e.eval("org3.user", "RuleCode", hash))
	if got["module"] != b64(code) {
		t.Fatalf("RuleCode returned other bytes")
	}
	hist := decode[[]HistoryEntry](t, e.eval("org3.user", "RuleHistory", hash))
	if len(hist) != 2 { // uploaded, approved
		t.Fatalf("rule history %d versions, want 2", len(hist))
	}
	e.fail("only member orgs may read rules", "org4.user", "RuleGet", hash)

	// Revocation by vote; billing with a revoked rule fails.
	e.fail("reason is required", "org1.admin", "RuleRevoke", hash, "")
	e.fail("only admins of member orgs may propose a rule revocation", "org1.user", "RuleRevoke", hash, "bug")
	p := decode[Proposal](t, e.okEvent("RuleRevokeProposed", "org3.admin", "RuleRevoke", hash, "rounds wrongly"))
	e.fail("is still open", "org2.admin", "RuleRevoke", hash, "again")
	e.fail("is a rule.revoke proposal; vote on it with RuleRevokeVote", "org1.admin", "ConsortiumVote", p.ID, "approve")
	e.okEvent("RuleVoted", "org3.admin", "RuleRevokeVote", hash, "approve")
	e.okEvent("RuleRevoked", "org1.admin", "RuleRevokeVote", hash, "approve")
	if r := decode[Rule](t, e.eval("org1.user", "RuleGet", hash)); r.Status != RuleRevoked || r.RevocationReason != "rounds wrongly" {
		t.Fatalf("rule %+v, want revoked", r)
	}
	e.fail("has no open revocation vote", "org2.admin", "RuleRevokeVote", hash, "approve")
	if acts := decode[Activations](t, e.eval("org1.user", "RuleActivations", "ecs")); len(acts.Entries) != 1 || acts.Entries[0].Revoked == nil || acts.Entries[0].PreparedHash == "" {
		t.Fatalf("activations after the revocation %s, want the rule's marked revoked", js(acts))
	}
	e.market()
	e.activeResource("r1")
	e.advance(3600e9)
	e.fail("rule ecs 1.0.0, active for type ecs at", "org1.agent", "BillClose", "r1", "")
	if rel := decode[releaseResult](t, e.ok("org2.user", "ResourceRelease", "r1")); rel.Pending == nil ||
		!strings.Contains(rel.Pending.Reason, "rule ecs 1.0.0, active for type ecs at") {
		t.Fatalf("release under a revoked rule: %s, want its bill pending", js(rel))
	}
}
