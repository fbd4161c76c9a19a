package chaincode

import (
	"strings"
	"testing"
)

// TestRuleUploadWithProvenance: the provenance is stored with the rule, its
// form is checked, and RuleUpload (six arguments) stores none.
func TestRuleUploadWithProvenance(t *testing.T) {
	e := newEnv(t)
	e.initConsortium()
	code := wasmFile(t, "ecs_hourly.wasm")
	src := strings.Repeat("ab", 32)

	for _, c := range []struct{ name, prov, want string }{
		{"empty", "", "provenance is required"},
		{"neither field", `{}`, "provenance names neither source_sha256 nor toolchain"},
		{"unknown field", `{"source_sha256":"` + src + `","builder":"me"}`, `unknown field "builder"`},
		{"bad hash", `{"source_sha256":"ABC"}`, `provenance source_sha256 "ABC" is not valid`},
		{"long toolchain", `{"toolchain":"` + strings.Repeat("g", 129) + `"}`, "provenance toolchain is 129 bytes long"},
		{"two lines", `{"toolchain":"go1.26.0\nrm -rf"}`, "provenance toolchain must be one line"},
		{"trailing data", `{"toolchain":"go"} {}`, "provenance has data after its JSON value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.tb = t
			e.fail(c.want, "org1.admin", "RuleUploadWithProvenance", "ecs", "1.0.0", "ecs", "me", "", b64(code), c.prov)
		})
	}
	e.tb = t
	// Who may upload is checked before the provenance.
	e.fail("only admins of member orgs may upload rules", "org1.user", "RuleUploadWithProvenance", "ecs", "1.0.0", "ecs", "me", "", b64(code), "{}")

	r := decode[Rule](t, e.okEvent("RuleProposed", "org1.admin", "RuleUploadWithProvenance", "ecs", "1.0.0", "ecs", "me", "",
		b64(code), `{"source_sha256":"`+src+`","toolchain":"go1.26.0 wasip1/wasm"}`))
	if r.Provenance == nil || r.Provenance.SourceHash != src || r.Provenance.Toolchain != "go1.26.0 wasip1/wasm" || r.Hash != hashOf(code) {
		t.Fatalf("rule: %+v", r)
	}
	got := decode[Rule](t, e.eval("org3.user", "RuleGet", "ecs@1.0.0"))
	if got.Provenance == nil || *got.Provenance != *r.Provenance {
		t.Fatalf("RuleGet: %+v", got.Provenance)
	}
	// Toolchain alone is enough; RuleUpload records no provenance, and
	// its JSON has no provenance key.
	e.ok("org1.admin", "RuleUploadWithProvenance", "ecs", "1.1.0", "ecs", "me", "", b64(append(code, 0, 2, 1, 'x')), `{"toolchain":"wat2wasm 1.0.34"}`)
	out := e.ok("org1.admin", "RuleUpload", "ecs", "1.2.0", "ecs", "me", "", b64(append(code, 0, 2, 1, 'y')))
	if strings.Contains(out, "provenance") {
		t.Fatalf("RuleUpload's rule has a provenance: %s", out)
	}
	// The argument count is checked as for every transaction.
	e.fail("RuleUploadWithProvenance takes 7 arguments", "org1.admin", "RuleUploadWithProvenance", "ecs", "1.3.0", "ecs", "me", "", b64(code))
}
