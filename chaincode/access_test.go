package chaincode

import (
	"encoding/json"
	"testing"
)

// Who can make the endorsing peers prepare, compile and run a module:
// uploads follow the consortium's upload setting (admins of member orgs by
// default), a proposed rule runs only for member admins and its uploader,
// and a revoked or rejected rule never runs.

// variant returns code with a custom section appended: a module that
// behaves exactly as code but has another hash (another rule version).
func variant(code []byte, n byte) []byte {
	name := "fedmeter-test"
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, n)
	out := append([]byte(nil), code...)
	out = append(out, 0, byte(len(body))) // section id 0 (custom), size (< 128)
	return append(out, body...)
}

// setUploadAccess changes the upload setting by a vote of Org1 and Org2.
func (e *env) setUploadAccess(v string) Proposal {
	e.tb.Helper()
	p := decode[Proposal](e.tb, e.okEvent("ConsortiumProposed", "org1.admin", "ConsortiumPropose", KindUploadSet, v, "who uploads rules"))
	e.okEvent("ConsortiumVoted", "org1.admin", "ConsortiumVote", p.ID, "approve")
	p = decode[Proposal](e.tb, e.okEvent("ConsortiumDecided", "org2.admin", "ConsortiumVote", p.ID, "approve"))
	if p.Status != ProposalApproved {
		e.tb.Fatalf("upload.set %s: proposal %+v", v, p)
	}
	return p
}

const deniedUpload = `only admins of member orgs may upload rules while the consortium's upload setting is admins; the caller is a client of `

func TestUploadAccess(t *testing.T) {
	code := wasmFile(t, "ecs_hourly.wasm")
	cases := []struct {
		name, setting, who, module, want string
	}{
		{"admins: member admin", UploadAdmins, "org2.admin", b64(code), ""},
		{"admins: member user", UploadAdmins, "org2.user", b64(code), deniedUpload + `Org2MSP without the "admin" OU; an admin uploads it, or the members' admins let any member identity upload by a vote (ConsortiumPropose upload.set members)`},
		{"admins: member agent", UploadAdmins, "org1.agent", b64(code), deniedUpload + "Org1MSP"},
		// Refused before the module is decoded or prepared.
		{"admins: user, bad module", UploadAdmins, "org2.user", "!!!", deniedUpload + "Org2MSP"},
		{"admins: non-member admin", UploadAdmins, "org4.admin", b64(code), "only member orgs may upload rules; Org4MSP is not a member"},
		{"members: member admin", UploadMembers, "org2.admin", b64(code), ""},
		{"members: member user", UploadMembers, "org2.user", b64(code), ""},
		{"members: member agent", UploadMembers, "org1.agent", b64(code), ""},
		{"members: user, bad module", UploadMembers, "org2.user", "!!!", "module is not valid base64"},
		{"members: non-member admin", UploadMembers, "org4.admin", b64(code), "only member orgs may upload rules; Org4MSP is not a member"},
		{"members: non-member user", UploadMembers, "org4.user", b64(code), "only member orgs may upload rules; Org4MSP is not a member"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.initConsortium()
			if c.setting != UploadAdmins {
				e.setUploadAccess(c.setting)
			}
			if c.want != "" {
				e.fail(c.want, c.who, "RuleUpload", "ecs", "1.0.0", "ecs", "me", "", c.module)
				return
			}
			r := decode[Rule](t, e.okEvent("RuleProposed", c.who, "RuleUpload", "ecs", "1.0.0", "ecs", "me", "", c.module))
			id := e.id(c.who)
			if r.Status != RuleProposed || r.UploadedBy.MSP != id.MSPID || r.UploadedBy.ID == "" {
				t.Fatalf("rule %s, want proposed and uploaded by %s", js(r), c.who)
			}
		})
	}
}

func TestUploadAccessVote(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	code := wasmFile(t, "ecs_hourly.wasm")
	cons := decode[Consortium](t, e.eval("org1.user", "ConsortiumGet"))
	if cons.UploadAccess != UploadAdmins {
		t.Fatalf("a new consortium's upload setting is %q, want admins", cons.UploadAccess)
	}
	for _, c := range []struct{ name, who, value, want string }{
		{"non-admin", "org1.user", UploadMembers, "only admins of member orgs may propose consortium changes"},
		{"non-member", "org4.admin", UploadMembers, "only member orgs may propose consortium changes"},
		{"bad value", "org1.admin", "everyone", `value "everyone" is not valid: it must be admins (admins of member orgs may upload rules) or members`},
		{"empty value", "org1.admin", "", `value "" is not valid`},
		{"unchanged", "org1.admin", UploadAdmins, "value admins is already the upload setting (admins of member orgs may upload rules)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, c.who, "ConsortiumPropose", KindUploadSet, c.value, "")
		})
	}
	e.tb = t

	// A rejected proposal changes nothing.
	p := decode[Proposal](t, e.ok("org3.admin", "ConsortiumPropose", KindUploadSet, UploadMembers, ""))
	if p.Kind != KindUploadSet || p.Subject != UploadMembers || p.Required != 2 {
		t.Fatalf("proposal %s", js(p))
	}
	e.ok("org1.admin", "ConsortiumVote", p.ID, "reject")
	e.okEvent("ConsortiumDecided", "org2.admin", "ConsortiumVote", p.ID, "reject")
	e.fail(deniedUpload+"Org2MSP", "org2.user", "RuleUpload", "ecs", "1.0.0", "ecs", "me", "", b64(code))

	// Opened to members by a majority vote.
	e.setUploadAccess(UploadMembers)
	cons = decode[Consortium](t, e.eval("org3.user", "ConsortiumGet"))
	if cons.UploadAccess != UploadMembers || cons.Version != 2 {
		t.Fatalf("consortium %s, want upload_access members at version 2", js(cons))
	}
	e.fail("value members is already the upload setting (any identity of a member org may upload rules)", "org1.admin", "ConsortiumPropose", KindUploadSet, UploadMembers, "")
	h := e.uploadRuleAs("org2.user", "ecs", "1.0.0", code)
	if r := decode[Rule](t, e.eval("org1.user", "RuleGet", h)); r.UploadedBy.MSP != org2 {
		t.Fatalf("rule %s, want uploaded by Org2MSP", js(r))
	}

	// And back to admins.
	e.setUploadAccess(UploadAdmins)
	e.fail(deniedUpload+"Org2MSP", "org2.user", "RuleUpload", "ecs", "1.1.0", "ecs", "me", "", b64(variant(code, 1)))
	e.uploadRuleAs("org2.admin", "ecs", "1.1.0", variant(code, 1))
	if cons := decode[Consortium](t, e.eval("org3.user", "ConsortiumGet")); cons.UploadAccess != UploadAdmins || cons.Version != 3 {
		t.Fatalf("consortium %s, want upload_access admins at version 3", js(cons))
	}
}

// TestUploadAccessOldLedger: a consortium stored before the setting existed
// reads as the default, admins.
func TestUploadAccessOldLedger(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(e.snapshot()[keyConsortium]), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["upload_access"]; !ok {
		t.Fatalf("the stored consortium has no upload_access: %v", raw)
	}
	delete(raw, "upload_access")
	e.l.Put(keyConsortium, []byte(js(raw)))

	if cons := decode[Consortium](t, e.eval("org1.user", "ConsortiumGet")); cons.UploadAccess != UploadAdmins {
		t.Fatalf("an old consortium reads upload setting %q, want admins", cons.UploadAccess)
	}
	code := wasmFile(t, "ecs_hourly.wasm")
	e.fail(deniedUpload+"Org1MSP", "org1.user", "RuleUpload", "ecs", "1.0.0", "ecs", "me", "", b64(code))
	e.fail("value admins is already the upload setting", "org1.admin", "ConsortiumPropose", KindUploadSet, UploadAdmins, "")
	e.uploadRule("ecs", "1.0.0", code)
	e.setUploadAccess(UploadMembers)
	e.uploadRuleAs("org1.user", "ecs", "1.1.0", variant(code, 1))
}

// TestBillQuoteAccess quotes rules of every status as every role.
func TestBillQuoteAccess(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	e.market()
	e.setUploadAccess(UploadMembers) // so that a user (org1.user) uploads
	code := wasmFile(t, "ecs_hourly.wasm")
	up := func(version string, n byte) string {
		return e.uploadRuleAs("org1.user", "ecs", version, variant(code, n))
	}

	hashes := map[string]string{}
	hashes[RuleProposed] = up("1.0.0", 1)
	hashes[RuleApproved] = up("1.1.0", 2)
	e.approveRule("ecs", "1.1.0", hashes[RuleApproved])
	hashes[RuleRevoked] = up("1.2.0", 3)
	e.approveRule("ecs", "1.2.0", hashes[RuleRevoked])
	e.okEvent("RuleActivated", "org1.admin", "RuleActivate", "ecs", hashes[RuleRevoked], "")
	e.okEvent("RuleRevokeProposed", "org2.admin", "RuleRevoke", hashes[RuleRevoked], "bills wrongly")
	e.ok("org1.admin", "RuleRevokeVote", hashes[RuleRevoked], "approve")
	e.okEvent("RuleRevoked", "org3.admin", "RuleRevokeVote", hashes[RuleRevoked], "approve")
	hashes[RuleRejected] = up("1.3.0", 4)
	e.ok("org2.admin", "RuleVote", "ecs", "1.3.0", hashes[RuleRejected], "reject")
	e.okEvent("RuleDecided", "org3.admin", "RuleVote", "ecs", "1.3.0", hashes[RuleRejected], "reject")
	e.advance(60e9)
	const active = "active"
	hashes[active] = up("2.0.0", 5)
	e.approveRule("ecs", "2.0.0", hashes[active])
	e.okEvent("RuleActivated", "org3.admin", "RuleActivate", "ecs", hashes[active], "")
	for status, h := range hashes {
		want := status
		if status == active {
			want = RuleApproved
		}
		if r := decode[Rule](t, e.eval("org1.user", "RuleGet", h)); r.Status != want {
			t.Fatalf("rule %s is %s, want %s", h, r.Status, want)
		}
	}

	const (
		ok          = ""
		nonMember   = "only member orgs may request quotes; Org4MSP is not a member"
		pendingOnly = "only admins of member orgs (the voters) and the identity of Org1MSP that uploaded it may run rule ecs 1.0.0 while its vote is open; the caller is a client of "
		revoked     = "rule ecs 1.2.0 was revoked by the members; a revoked rule never runs, in a bill or a quote"
		rejected    = "rule ecs 1.3.0 was rejected by the members; a rejected rule never runs, in a bill or a quote"
	)
	roles := []struct{ name, who string }{
		{"member admin", "org2.admin"},
		{"uploader (a user)", "org1.user"},
		{"other user of the uploader's org", "org1.agent"},
		{"user of another org", "org3.user"},
		{"non-member admin", "org4.admin"},
	}
	want := map[string][]string{ // by status, in the order of roles
		RuleProposed: {ok, ok, pendingOnly + "Org1MSP", pendingOnly + "Org3MSP", nonMember},
		RuleApproved: {ok, ok, ok, ok, nonMember},
		active:       {ok, ok, ok, ok, nonMember},
		RuleRevoked:  {revoked, revoked, revoked, revoked, nonMember},
		RuleRejected: {rejected, rejected, rejected, rejected, nonMember},
	}
	start, end := js(t0.Unix()), js(t0.Unix()+2*3600)
	for _, status := range []string{RuleProposed, RuleApproved, active, RuleRevoked, RuleRejected} {
		for i, r := range roles {
			t.Run(status+"/"+r.name, func(t *testing.T) {
				e.tb = t
				w := want[status][i]
				if w != ok {
					e.fail(w, r.who, "BillQuote", org1, "ecs", `{"vcpu":1}`, `{"egress_gib":2}`, start, end, hashes[status])
					return
				}
				before := e.snapshot()
				q := decode[Quote](t, e.ok(r.who, "BillQuote", org1, "ecs", `{"vcpu":1}`, `{"egress_gib":2}`, start, end, hashes[status]))
				if q.Rule.Hash != hashes[status] || q.Amount != 2*12+2*80 {
					t.Fatalf("quote %s", js(q))
				}
				if !mapsEqual(before, e.snapshot()) {
					t.Fatalf("a quote wrote to the ledger")
				}
			})
		}
	}
	e.tb = t

	// Without a code hash: the active rule, for any member.
	q := decode[Quote](t, e.eval("org3.user", "BillQuote", org1, "ecs", `{"vcpu":1}`, "", start, end, ""))
	if q.Rule.Hash != hashes[active] {
		t.Fatalf("quote by %s, want the active rule %s", q.Rule.Hash, hashes[active])
	}

	// Once approved, a rule runs for every member.
	e.approveRule("ecs", "1.0.0", hashes[RuleProposed])
	e.eval("org3.user", "BillQuote", org1, "ecs", `{"vcpu":1}`, "", start, end, hashes[RuleProposed])
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
