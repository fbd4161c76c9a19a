package chaincode

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/host"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// ruleEvent is the payload of the rule events.
type ruleEvent struct {
	Hash          string   `json:"hash"`
	Name          string   `json:"name"`
	Version       string   `json:"version"`
	Status        string   `json:"status"`
	Proposal      string   `json:"proposal,omitempty"`
	ResourceTypes []string `json:"resource_types,omitempty"`
	Type          string   `json:"type,omitempty"`
	EffectiveFrom int64    `json:"effective_from,omitempty"`
}

func ruleEventOf(r *Rule) ruleEvent {
	return ruleEvent{Hash: r.Hash, Name: r.Name, Version: r.Version, Status: r.Status, ResourceTypes: r.ResourceTypes}
}

func ruleRef(r *Rule) RuleRef {
	return RuleRef{Name: r.Name, Version: r.Version, Hash: r.Hash, PreparedHash: r.PreparedHash, Profile: r.Profile}
}

// RuleUpload stores a billing rule and opens the members' vote on it.
// resourceTypes is a JSON array or comma-separated list of catalog types;
// module is the Wasm module, base64 (standard encoding), at most
// host.ProfileV1.MaxModuleBytes bytes once decoded. The module is validated
// and prepared with package host; an invalid module is refused with the
// host's reason. Who may upload is the consortium's upload setting: admins
// of member orgs (UploadAdmins, the default) or any identity of a member org
// (UploadMembers); it is checked before the module is decoded, since
// preparing it costs every endorsing peer. The uploader is recorded
// (UploadedBy): it may quote the rule while the vote is open.
func (c *Contract) RuleUpload(ctx contractapi.TransactionContextInterface, name, version, resourceTypes, author, description, module string) (string, error) {
	return c.ruleUpload(ctx, name, version, resourceTypes, author, description, module, nil)
}

// RuleUploadWithProvenance is RuleUpload with the module's provenance: a
// JSON object {"source_sha256": SHA-256 of the source tree (64 lower-case
// hex digits), "toolchain": what built it (printable text, at most 128
// bytes)}, at least one of the two, unknown fields refused. It
// is stored with the rule (Rule.Provenance); the contract checks its form,
// not its truth: that is for voters, who can rebuild the source and
// compare (fedmeter rule verify-build). A transaction of its own, so that
// RuleUpload keeps its six arguments for every existing caller.
func (c *Contract) RuleUploadWithProvenance(ctx contractapi.TransactionContextInterface, name, version, resourceTypes, author, description, module, provenance string) (string, error) {
	return c.ruleUpload(ctx, name, version, resourceTypes, author, description, module, &provenance)
}

// parseProvenance checks RuleUploadWithProvenance's provenance argument.
func parseProvenance(s string) (*Provenance, error) {
	var pv Provenance
	if err := decodeJSON("provenance", s, &pv); err != nil {
		return nil, err
	}
	if pv.SourceHash == "" && pv.Toolchain == "" {
		return nil, errf("provenance names neither source_sha256 nor toolchain; use RuleUpload for a rule without provenance")
	}
	if pv.SourceHash != "" {
		if err := checkHash("provenance source_sha256", pv.SourceHash); err != nil {
			return nil, err
		}
	}
	if err := checkText("provenance toolchain", pv.Toolchain, maxToolchain, false); err != nil {
		return nil, err
	}
	if strings.ContainsAny(pv.Toolchain, "\n\t") {
		return nil, errf("provenance toolchain must be one line")
	}
	return &pv, nil
}

// maxToolchain bounds Provenance.Toolchain.
const maxToolchain = 128

// ruleUpload is RuleUpload, and RuleUploadWithProvenance when provenance
// is not nil.
func (c *Contract) ruleUpload(ctx contractapi.TransactionContextInterface, name, version, resourceTypes, author, description, module string, provenance *string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("upload rules")
	if err != nil {
		return "", err
	}
	if err := t.mayUpload(cons); err != nil {
		return "", err
	}
	if err := checkPattern("name", name, reRuleName, "1 to 64 lower-case letters, digits, '_' or '-', starting with a letter"); err != nil {
		return "", err
	}
	if err := checkPattern("version", version, reSemver, "a semantic version such as 1.2.0"); err != nil {
		return "", err
	}
	types, err := parseList("resource_types", resourceTypes)
	if err != nil {
		return "", err
	}
	for _, typ := range types {
		if _, err := knownType(cons, "resource_types entry", typ); err != nil {
			return "", err
		}
	}
	if types, err = uniqueSorted("resource_types", types); err != nil {
		return "", err
	}
	if err := checkText("author", author, maxAuthor, true); err != nil {
		return "", err
	}
	if err := checkText("description", description, maxDescription, false); err != nil {
		return "", err
	}
	var pv *Provenance
	if provenance != nil {
		if pv, err = parseProvenance(*provenance); err != nil {
			return "", err
		}
	}
	if module == "" {
		return "", errf("module is required (the Wasm module, base64)")
	}
	if max := host.ProfileV1().MaxModuleBytes; base64.StdEncoding.DecodedLen(len(module)) > max+3 {
		return "", errf("module is about %d bytes; at most %d are allowed", base64.StdEncoding.DecodedLen(len(module)), max)
	}
	code, err := base64.StdEncoding.DecodeString(module)
	if err != nil {
		return "", errf("module is not valid base64: %v", err)
	}
	if max := host.ProfileV1().MaxModuleBytes; len(code) > max {
		return "", errf("module is %d bytes; at most %d are allowed", len(code), max)
	}
	sum := sha256.Sum256(code)
	hash := hex.EncodeToString(sum[:])
	var existing Rule
	if ok, err := t.getJSON(key(pfxRule, hash), &existing); err != nil {
		return "", err
	} else if ok {
		return "", conflict("module was already uploaded as rule %s %s (hash %s)", existing.Name, existing.Version, hash)
	}
	var other string
	if ok, err := t.getJSON(key(pfxRuleName, name, version), &other); err != nil {
		return "", err
	} else if ok {
		return "", conflict("version %s of rule %s already exists (hash %s); upload the new code as a new version", version, name, other)
	}
	p, err := prepare(code)
	if err != nil {
		return "", ruleFailed("module was rejected by the host: %v", err)
	}
	r := &Rule{
		Name: name, Version: version, ResourceTypes: types, Author: author, Description: description,
		Hash: hash, PreparedHash: hex.EncodeToString(p.Hash[:]), Profile: p.Profile, ABI: p.ABI, Size: len(code),
		Status: RuleProposed, UploadedBy: t.actor(), Uploaded: t.stamp(), Provenance: pv,
	}
	prop := &Proposal{Kind: KindRuleApprove, Subject: hash}
	if err := t.openProposal(prop, cons); err != nil {
		return "", err
	}
	r.Proposal = prop.ID
	if err := t.putJSON(key(pfxRule, hash), r); err != nil {
		return "", err
	}
	if err := t.put(key(pfxRuleCode, hash), code); err != nil {
		return "", err
	}
	if err := t.putJSON(key(pfxRuleName, name, version), hash); err != nil {
		return "", err
	}
	ev := ruleEventOf(r)
	ev.Proposal = prop.ID
	if err := t.setEvent("RuleProposed", ev); err != nil {
		return "", err
	}
	return out(r)
}

// ruleByNameVersion loads a rule and checks that hash is its code hash.
func (t *txn) ruleNamed(name, version, hash string) (*Rule, error) {
	if err := checkPattern("name", name, reRuleName, "a rule name"); err != nil {
		return nil, err
	}
	if err := checkPattern("version", version, reSemver, "a semantic version such as 1.2.0"); err != nil {
		return nil, err
	}
	if err := checkHash("code_hash", hash); err != nil {
		return nil, err
	}
	var h string
	ok, err := t.getJSON(key(pfxRuleName, name, version), &h)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("rule %s %s does not exist", name, version)
	}
	if h != hash {
		return nil, errf("code_hash %s is not the code of rule %s %s (its hash is %s); a vote must name the exact code it decides on", hash, name, version, h)
	}
	return t.loadRule(h)
}

func (t *txn) loadRule(hash string) (*Rule, error) {
	if err := checkHash("code_hash", hash); err != nil {
		return nil, err
	}
	var r Rule
	ok, err := t.getJSON(key(pfxRule, hash), &r)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("code_hash %s names no uploaded rule", hash)
	}
	return &r, nil
}

// loadRuleRef loads a rule by code hash or by "name@version".
func (t *txn) loadRuleRef(ref string) (*Rule, error) {
	if name, version, ok := strings.Cut(ref, "@"); ok {
		if err := checkPattern("rule name", name, reRuleName, "a rule name"); err != nil {
			return nil, err
		}
		if err := checkPattern("rule version", version, reSemver, "a semantic version such as 1.2.0"); err != nil {
			return nil, err
		}
		var h string
		ok, err := t.getJSON(key(pfxRuleName, name, version), &h)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, notFound("rule %s %s does not exist", name, version)
		}
		return t.loadRule(h)
	}
	return t.loadRule(ref)
}

// RuleVote casts the caller's org's vote ("approve" or "reject") on an
// uploaded rule. name, version and codeHash must all match: the vote is for
// exactly that code. Admins of orgs in the proposal's electorate; one vote
// per org; the rule is approved when the policy is met and rejected when it
// no longer can be.
func (c *Contract) RuleVote(ctx contractapi.TransactionContextInterface, name, version, codeHash, decision string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.memberAdmin("vote on rules"); err != nil {
		return "", err
	}
	r, err := t.ruleNamed(name, version, codeHash)
	if err != nil {
		return "", err
	}
	if r.Status != RuleProposed {
		return "", conflict("rule %s %s is already %s; its vote is closed", r.Name, r.Version, r.Status)
	}
	p, err := t.loadProposal(r.Proposal)
	if err != nil {
		return "", err
	}
	status, err := t.castVote(p, decision)
	if err != nil {
		return "", err
	}
	if err := t.putJSON(key(pfxProposal, p.ID), p); err != nil {
		return "", err
	}
	ev := ruleEventOf(r)
	ev.Proposal = p.ID
	switch status {
	case ProposalOpen:
		ev.Status = "voted"
		if err := t.setEvent("RuleVoted", ev); err != nil {
			return "", err
		}
		return out(p)
	case ProposalApproved:
		r.Status = RuleApproved
	case ProposalRejected:
		r.Status = RuleRejected
	}
	r.Decided = p.Decided
	if err := t.putJSON(key(pfxRule, r.Hash), r); err != nil {
		return "", err
	}
	ev.Status = r.Status
	if err := t.setEvent("RuleDecided", ev); err != nil {
		return "", err
	}
	return out(p)
}

// RuleActivate binds resourceType to the approved rule codeHash from
// effectiveFrom (Unix seconds or RFC 3339; empty means now) on. Activations
// cannot be backdated; earlier activations stay, so past bills can be
// recomputed. Admins of member orgs.
func (c *Contract) RuleActivate(ctx contractapi.TransactionContextInterface, resourceType, codeHash, effectiveFrom string) (string, error) {
	return c.ruleActivate(ctx, resourceType, codeHash, effectiveFrom, "", false)
}

func (c *Contract) ruleActivate(ctx contractapi.TransactionContextInterface, resourceType, codeHash, effectiveFrom, effectiveTo string, bounded bool) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("activate rules")
	if err != nil {
		return "", err
	}
	if _, err := knownType(cons, "resource_type", resourceType); err != nil {
		return "", err
	}
	r, err := t.loadRule(codeHash)
	if err != nil {
		return "", err
	}
	if r.Status != RuleApproved {
		return "", conflict("rule %s %s is %s, not approved; only a rule the members approved can be activated", r.Name, r.Version, r.Status)
	}
	if !slices.Contains(r.ResourceTypes, resourceType) {
		return "", errf("resource_type %s is not one of the types rule %s %s prices (%s)", resourceType, r.Name, r.Version, strings.Join(r.ResourceTypes, ", "))
	}
	eff, err := parseTime("effective_from", effectiveFrom, t.now)
	if err != nil {
		return "", err
	}
	if eff < t.now {
		return "", errf("effective_from %d is before the transaction time %d; activations cannot be backdated", eff, t.now)
	}
	end, err := activationEnd(effectiveTo, eff, bounded)
	if err != nil {
		return "", err
	}
	acts := Activations{Type: resourceType}
	if _, err := t.getJSON(key(pfxActivation, resourceType), &acts); err != nil {
		return "", err
	}
	for _, a := range acts.Entries {
		if a.EffectiveFrom == eff {
			return "", conflict("effective_from %d already has an activation for %s (rule %s %s)", eff, resourceType, a.Name, a.Version)
		}
	}
	if len(acts.Entries) >= maxEntries {
		return "", conflict("type %s already has %d activations, the most allowed", resourceType, maxEntries)
	}
	acts.Entries = append(acts.Entries, Activation{EffectiveFrom: eff, Hash: r.Hash, Name: r.Name, Version: r.Version,
		PreparedHash: r.PreparedHash, Profile: r.Profile, EffectiveTo: end, By: t.actor(), Stamp: t.stamp()})
	sort.Slice(acts.Entries, func(i, j int) bool { return acts.Entries[i].EffectiveFrom < acts.Entries[j].EffectiveFrom })
	if err := t.putJSON(key(pfxActivation, resourceType), acts); err != nil {
		return "", err
	}
	ev := ruleEventOf(r)
	ev.Type, ev.EffectiveFrom = resourceType, eff
	if err := t.setEvent("RuleActivated", ev); err != nil {
		return "", err
	}
	return out(acts)
}

// RuleRevoke opens the members' vote on revoking an approved rule. Admins of
// member orgs; one revocation vote per rule may be open at a time.
func (c *Contract) RuleRevoke(ctx contractapi.TransactionContextInterface, codeHash, reason string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("propose a rule revocation")
	if err != nil {
		return "", err
	}
	r, err := t.loadRule(codeHash)
	if err != nil {
		return "", err
	}
	if err := checkText("reason", reason, maxReason, true); err != nil {
		return "", err
	}
	if r.Status != RuleApproved {
		return "", conflict("rule %s %s is %s; only an approved rule can be revoked", r.Name, r.Version, r.Status)
	}
	if r.RevokeProposal != "" {
		p, err := t.loadProposal(r.RevokeProposal)
		if err != nil {
			return "", err
		}
		if p.Status == ProposalOpen {
			return "", conflict("proposal %s to revoke rule %s %s is still open", p.ID, r.Name, r.Version)
		}
	}
	p := &Proposal{Kind: KindRuleRevoke, Subject: r.Hash, Reason: reason}
	if err := t.openProposal(p, cons); err != nil {
		return "", err
	}
	r.RevokeProposal = p.ID
	if err := t.putJSON(key(pfxRule, r.Hash), r); err != nil {
		return "", err
	}
	ev := ruleEventOf(r)
	ev.Proposal, ev.Status = p.ID, "revocation proposed"
	if err := t.setEvent("RuleRevokeProposed", ev); err != nil {
		return "", err
	}
	return out(p)
}

// RuleRevokeVote casts the caller's org's vote ("approve" revokes, "reject"
// keeps) on the open revocation of rule codeHash. Admins of orgs in the
// electorate; one vote per org.
func (c *Contract) RuleRevokeVote(ctx contractapi.TransactionContextInterface, codeHash, decision string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.memberAdmin("vote on rule revocations"); err != nil {
		return "", err
	}
	r, err := t.loadRule(codeHash)
	if err != nil {
		return "", err
	}
	if r.RevokeProposal == "" || r.Status != RuleApproved {
		return "", conflict("rule %s %s has no open revocation vote", r.Name, r.Version)
	}
	p, err := t.loadProposal(r.RevokeProposal)
	if err != nil {
		return "", err
	}
	status, err := t.castVote(p, decision)
	if err != nil {
		return "", err
	}
	if err := t.putJSON(key(pfxProposal, p.ID), p); err != nil {
		return "", err
	}
	ev := ruleEventOf(r)
	ev.Proposal = p.ID
	switch status {
	case ProposalOpen:
		ev.Status = "voted"
		if err := t.setEvent("RuleVoted", ev); err != nil {
			return "", err
		}
		return out(p)
	case ProposalRejected:
		ev.Status = "revocation rejected"
		if err := t.setEvent("RuleDecided", ev); err != nil {
			return "", err
		}
		return out(p)
	}
	r.Status = RuleRevoked
	r.Revoked = p.Decided
	r.RevocationReason = p.Reason
	if err := t.putJSON(key(pfxRule, r.Hash), r); err != nil {
		return "", err
	}
	if err := t.markRevoked(r); err != nil {
		return "", err
	}
	ev.Status = r.Status
	if err := t.setEvent("RuleRevoked", ev); err != nil {
		return "", err
	}
	return out(p)
}

// RuleGet returns a rule by code hash or by "name@version".
func (c *Contract) RuleGet(ctx contractapi.TransactionContextInterface, ref string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read rules"); err != nil {
		return "", err
	}
	r, err := t.loadRuleRef(ref)
	if err != nil {
		return "", err
	}
	return out(r)
}

// RuleList lists every rule version, by code hash, a page at a time.
func (c *Contract) RuleList(ctx contractapi.TransactionContextInterface, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read rules"); err != nil {
		return "", err
	}
	page, err := scanPage(t, pfxRule, prefixEnd(pfxRule), pageSize, bookmark, func(k string, v []byte) (*Rule, bool, error) {
		var r Rule
		return &r, true, json.Unmarshal(v, &r)
	})
	if err != nil {
		return "", err
	}
	return out(page)
}

// ruleStatus is what RuleStatus returns.
type ruleStatus struct {
	Rule       *Rule            `json:"rule"`
	Proposal   *Proposal        `json:"proposal"`
	Revocation *Proposal        `json:"revocation,omitempty"`
	Active     []typeActivation `json:"activations"`
}

// typeActivation is an activation of a rule with the type it applies to.
type typeActivation struct {
	Type string `json:"type"`
	Activation
}

// RuleStatus returns a rule (by hash or name@version) with its votes, its
// revocation vote if any, and where it is activated.
func (c *Contract) RuleStatus(ctx contractapi.TransactionContextInterface, ref string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read rules"); err != nil {
		return "", err
	}
	r, err := t.loadRuleRef(ref)
	if err != nil {
		return "", err
	}
	st := ruleStatus{Rule: r, Active: []typeActivation{}}
	if st.Proposal, err = t.loadProposal(r.Proposal); err != nil {
		return "", err
	}
	if r.RevokeProposal != "" {
		if st.Revocation, err = t.loadProposal(r.RevokeProposal); err != nil {
			return "", err
		}
	}
	for _, typ := range r.ResourceTypes {
		var acts Activations
		if _, err := t.getJSON(key(pfxActivation, typ), &acts); err != nil {
			return "", err
		}
		for _, a := range acts.Entries {
			if a.Hash == r.Hash {
				st.Active = append(st.Active, typeActivation{Type: typ, Activation: a})
			}
		}
	}
	return out(st)
}

// RuleCode returns a rule's module, base64, with its hash.
func (c *Contract) RuleCode(ctx contractapi.TransactionContextInterface, codeHash string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read rule code"); err != nil {
		return "", err
	}
	r, err := t.loadRule(codeHash)
	if err != nil {
		return "", err
	}
	code, err := t.stub.GetState(key(pfxRuleCode, r.Hash))
	if err != nil || code == nil {
		return "", ledgerf("the code of rule %s could not be read", r.Hash)
	}
	return out(map[string]string{"hash": r.Hash, "module": base64.StdEncoding.EncodeToString(code)})
}

// RuleHistory returns every version of a rule's record (status changes).
func (c *Contract) RuleHistory(ctx contractapi.TransactionContextInterface, codeHash string) (string, error) {
	return c.History(ctx, "rule", codeHash)
}

// RuleActivations returns the activations of a resource type, oldest first.
func (c *Contract) RuleActivations(ctx contractapi.TransactionContextInterface, resourceType string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read activations")
	if err != nil {
		return "", err
	}
	if _, err := knownType(cons, "resource_type", resourceType); err != nil {
		return "", err
	}
	acts := Activations{Type: resourceType, Entries: []Activation{}}
	if _, err := t.getJSON(key(pfxActivation, resourceType), &acts); err != nil {
		return "", err
	}
	return out(acts)
}

// activeRule returns the rule in force for typ at time at: what billing
// needs of it, from its activation entry (Activation), without reading the
// rule record.
func (t *txn) activeRule(typ string, at int64) (*Rule, error) {
	var acts Activations
	if _, err := t.getJSON(key(pfxActivation, typ), &acts); err != nil {
		return nil, err
	}
	var cur *Activation
	for i := range acts.Entries {
		if acts.Entries[i].EffectiveFrom <= at {
			cur = &acts.Entries[i]
		}
	}
	if cur == nil {
		return nil, ruleFailed("no rule is active for type %s at %d; an admin activates an approved rule with RuleActivate", typ, at)
	}
	if err := activationEnded(typ, cur, at); err != nil {
		return nil, err
	}
	if cur.Revoked != nil {
		return nil, ruleFailed("rule %s %s, active for type %s at %d, was revoked; an admin activates another approved version", cur.Name, cur.Version, typ, at)
	}
	return &Rule{Name: cur.Name, Version: cur.Version, Hash: cur.Hash, PreparedHash: cur.PreparedHash, Profile: cur.Profile, Status: RuleApproved}, nil
}

// mayRun refuses to run rule r (loaded by its record) for the caller
// outside a bill: a revoked or rejected rule never runs; a proposed one runs
// only for admins of member orgs (the voters, who try it before voting) and
// for the identity that uploaded it; an approved one runs for any member
// (the caller's membership is checked before). Running a module costs the
// endorsing peers its compilation and its gas, so a rule nobody voted for
// must not be runnable by every member identity.
func (t *txn) mayRun(r *Rule) error {
	switch r.Status {
	case RuleApproved:
		return nil
	case RuleRevoked:
		return conflict("rule %s %s was revoked by the members; a revoked rule never runs, in a bill or a quote (quote with an approved version, or without a code hash for the active rule)", r.Name, r.Version)
	case RuleRejected:
		return conflict("rule %s %s was rejected by the members; a rejected rule never runs, in a bill or a quote", r.Name, r.Version)
	case RuleProposed:
		if t.admin || (r.UploadedBy.ID != "" && t.msp == r.UploadedBy.MSP && t.clientID == r.UploadedBy.ID) {
			return nil
		}
		return denied("only admins of member orgs (the voters) and the identity of %s that uploaded it may run rule %s %s while its vote is open; the caller is %s; any member may quote it once the members approve it", r.UploadedBy.MSP, r.Name, r.Version, t.role())
	}
	return internalf("rule %s %s has status %q, which this contract does not know; it does not run", r.Name, r.Version, r.Status)
}

// markRevoked marks the activations of revoked rule r (of the types it
// prices: the only ones it can be activated for) as revoked.
func (t *txn) markRevoked(r *Rule) error {
	for _, typ := range r.ResourceTypes {
		var acts Activations
		ok, err := t.getJSON(key(pfxActivation, typ), &acts)
		if err != nil || !ok {
			return err
		}
		changed := false
		for i := range acts.Entries {
			if a := &acts.Entries[i]; a.Hash == r.Hash && a.Revoked == nil {
				a.Revoked, changed = r.Revoked, true
			}
		}
		if changed {
			if err := t.putJSON(key(pfxActivation, typ), acts); err != nil {
				return err
			}
		}
	}
	return nil
}

// ruleFailure turns a rule's failure into the transaction's one-sentence error.
func ruleFailure(r *Rule, err error) error {
	kind := "failed"
	switch {
	case errors.Is(err, host.ErrOutOfGas):
		kind = "ran out of gas"
	case errors.Is(err, host.ErrTrap):
		kind = "trapped"
	case errors.Is(err, host.ErrBadOutput):
		kind = "returned a bad output"
	case errors.Is(err, host.ErrRule):
		kind = "refused the input"
	case errors.Is(err, host.ErrMemoryLimit), errors.Is(err, host.ErrStackLimit):
		kind = "hit a limit"
	}
	code := model.CodeRuleFailed
	if c := model.CodeOf(err); c == model.CodeLedger || c == model.CodeInternal {
		code = c // the rule did not run: its code could not be read, the host did not start
	}
	return refusef(code, "rule %s %s (%s) %s: %s; nothing was written", r.Name, r.Version, r.Hash, kind, msgOf(err))
}
