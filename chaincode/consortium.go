package chaincode

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// parseUploadAccess parses a value of the upload setting.
func parseUploadAccess(field, s string) (string, error) {
	switch s {
	case UploadAdmins, UploadMembers:
		return s, nil
	}
	return "", errf("%s %q is not valid: it must be admins (admins of member orgs may upload rules) or members (any identity of a member org may)", field, s)
}

// uploaders describes who may upload under the setting v.
func uploaders(v string) string {
	if v == UploadMembers {
		return "any identity of a member org"
	}
	return "admins of member orgs"
}

// parsePolicy parses "majority", "all", "any" or "threshold:N" ("" = majority).
func parsePolicy(field, s string) (Policy, error) {
	switch s {
	case "", "majority":
		return Policy{Kind: "majority"}, nil
	case "all", "any":
		return Policy{Kind: s}, nil
	}
	if n, ok := strings.CutPrefix(s, "threshold:"); ok {
		v, err := parseInt(field+" threshold", n, 1, maxMembers)
		if err != nil {
			return Policy{}, err
		}
		return Policy{Kind: "threshold", Threshold: int(v)}, nil
	}
	return Policy{}, errf("%s %q is not valid: it must be majority, all, any or threshold:N", field, s)
}

// required is the number of approvals the policy needs among n voters.
func required(p Policy, n int) int {
	switch p.Kind {
	case "all":
		return n
	case "any":
		return 1
	case "threshold":
		return p.Threshold
	default:
		return n/2 + 1
	}
}

// checkFits refuses a policy that n members could never meet.
func checkFits(p Policy, field string, n int) error {
	if p.Kind == "threshold" && p.Threshold > n {
		return errf("%s threshold:%d needs more approvals than the %d members can give", field, p.Threshold, n)
	}
	return nil
}

// parseTypeDef parses and validates a resource type definition.
func parseTypeDef(field string, raw json.RawMessage) (TypeDef, error) {
	var td TypeDef
	if err := decodeJSON(field, string(raw), &td); err != nil {
		return td, err
	}
	return td, checkTypeDef(field, &td)
}

func checkTypeDef(field string, td *TypeDef) error {
	if err := checkTypeName(field+".name", td.Name); err != nil {
		return err
	}
	if err := checkText(field+".description", td.Description, maxDescription, false); err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		list *[]string
	}{{"spec", &td.Spec}, {"metrics", &td.Metrics}} {
		if len(*l.list) > maxMapEntries {
			return errf("%s.%s has %d names; at most %d are allowed", field, l.name, len(*l.list), maxMapEntries)
		}
		for _, n := range *l.list {
			if err := checkField(field+"."+l.name+" entry", n); err != nil {
				return err
			}
		}
		sorted, err := uniqueSorted(field+"."+l.name, *l.list)
		if err != nil {
			return err
		}
		if sorted == nil {
			sorted = []string{}
		}
		*l.list = sorted
	}
	return nil
}

// ConsortiumInit creates the consortium: its members (a JSON array or a
// comma-separated list of MSP IDs), its approval policy ("majority" by
// default, "all", "any" or "threshold:N") and its resource-type catalog (a
// JSON array of {"name","description","spec":[...],"metrics":[...]}, may be
// empty). Callable once, by an admin of one of the listed orgs.
func (c *Contract) ConsortiumInit(ctx contractapi.TransactionContextInterface, members, policy, types string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if ok, err := t.exists(keyConsortium); err != nil {
		return "", err
	} else if ok {
		return "", conflict("the consortium is already initialized; members change only by ConsortiumPropose and votes")
	}
	list, err := parseList("members", members)
	if err != nil {
		return "", err
	}
	if len(list) > maxMembers {
		return "", errf("members lists %d orgs; at most %d are allowed", len(list), maxMembers)
	}
	for _, m := range list {
		if err := checkOrg("members entry", m); err != nil {
			return "", err
		}
	}
	if list, err = uniqueSorted("members", list); err != nil {
		return "", err
	}
	if !slices.Contains(list, t.msp) {
		return "", denied("only an admin of a founding org may call ConsortiumInit; %s is not in members", t.msp)
	}
	if !t.admin {
		return "", denied("only an admin of a founding org may call ConsortiumInit; the caller is %s without the %q OU", t.role(), AdminOU)
	}
	pol, err := parsePolicy("policy", policy)
	if err != nil {
		return "", err
	}
	if err := checkFits(pol, "policy", len(list)); err != nil {
		return "", err
	}
	catalog := []TypeDef{}
	if strings.TrimSpace(types) != "" {
		var raws []json.RawMessage
		if err := decodeJSON("types", types, &raws); err != nil {
			return "", err
		}
		if len(raws) > maxTypes {
			return "", errf("types defines %d types; at most %d are allowed", len(raws), maxTypes)
		}
		for i, r := range raws {
			td, err := parseTypeDef(fmt.Sprintf("types[%d]", i), r)
			if err != nil {
				return "", err
			}
			catalog = append(catalog, td)
		}
		sort.Slice(catalog, func(i, j int) bool { return catalog[i].Name < catalog[j].Name })
		for i := 1; i < len(catalog); i++ {
			if catalog[i].Name == catalog[i-1].Name {
				return "", errf("types defines %q twice", catalog[i].Name)
			}
		}
	}
	cons := &Consortium{Members: list, Policy: pol, UploadAccess: UploadAdmins, Types: catalog, Version: 1, Layout: LedgerLayout, Created: t.stamp(), Updated: t.stamp()}
	if err := t.putJSON(keyConsortium, cons); err != nil {
		return "", err
	}
	if err := t.setEvent("ConsortiumInitialized", cons); err != nil {
		return "", err
	}
	return out(cons)
}

// ConsortiumGet returns the members, the policy and the type catalog.
func (c *Contract) ConsortiumGet(ctx contractapi.TransactionContextInterface) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.consortium()
	if err != nil {
		return "", err
	}
	return out(cons)
}

// TypeList returns the resource-type catalog.
func (c *Contract) TypeList(ctx contractapi.TransactionContextInterface) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.member("read the type catalog")
	if err != nil {
		return "", err
	}
	return out(cons.Types)
}

// ConsortiumPropose opens a vote on a consortium change. kind is one of
// member.add (value: MSP ID), member.remove (value: MSP ID), policy.set
// (value: majority | all | any | threshold:N), type.set (value: a type
// definition JSON), upload.set (value: admins | members, who may upload
// rules) or member.alias (value: "<MSP ID>=<alias>,<alias>...", the
// member's other names, such as the seed prototype's org code and short
// name; "<MSP ID>=" removes them). One consortium proposal may be open at a time. Admins of
// member orgs only; opening does not vote.
func (c *Contract) ConsortiumPropose(ctx contractapi.TransactionContextInterface, kind, value, reason string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("propose consortium changes")
	if err != nil {
		return "", err
	}
	if err := checkText("reason", reason, maxReason, false); err != nil {
		return "", err
	}
	p := &Proposal{Kind: kind, Reason: reason}
	switch kind {
	case KindMemberAdd:
		if err := checkOrg("value", value); err != nil {
			return "", err
		}
		if slices.Contains(cons.Members, value) {
			return "", conflict("value %s is already a member", value)
		}
		if len(cons.Members) >= maxMembers {
			return "", conflict("the consortium already has %d members, the most allowed", maxMembers)
		}
		p.Subject = value
	case KindMemberRemove:
		if err := checkOrg("value", value); err != nil {
			return "", err
		}
		if !slices.Contains(cons.Members, value) {
			return "", conflict("value %s is not a member", value)
		}
		if len(cons.Members) == 1 {
			return "", conflict("value %s is the last member and cannot be removed", value)
		}
		if err := checkFits(cons.Policy, "the current policy", len(cons.Members)-1); err != nil {
			return "", conflict("removing %s would leave a policy that cannot be met (%s); change the policy first", value, msgOf(err))
		}
		p.Subject = value
	case KindPolicySet:
		pol, err := parsePolicy("value", value)
		if err != nil {
			return "", err
		}
		if err := checkFits(pol, "value", len(cons.Members)); err != nil {
			return "", err
		}
		p.Subject, p.Policy = pol.String(), &pol
	case KindTypeSet:
		td, err := parseTypeDef("value", json.RawMessage(value))
		if err != nil {
			return "", err
		}
		if typeDef(cons, td.Name) == nil && len(cons.Types) >= maxTypes {
			return "", conflict("the catalog already has %d types, the most allowed", maxTypes)
		}
		p.Subject, p.Type = td.Name, &td
	case KindUploadSet:
		v, err := parseUploadAccess("value", value)
		if err != nil {
			return "", err
		}
		if v == cons.UploadAccess {
			return "", conflict("value %s is already the upload setting (%s may upload rules)", v, uploaders(v))
		}
		p.Subject = v
	case KindMemberAlias:
		msp, aliases, err := parseAliases(cons, "value", value)
		if err != nil {
			return "", err
		}
		p.Subject, p.Aliases = msp, aliases
	case KindRuleApprove, KindRuleRevoke:
		return "", errf("kind %s is opened by RuleUpload or RuleRevoke, not ConsortiumPropose", kind)
	default:
		return "", errf("kind %q is not valid: it must be member.add, member.remove, member.alias, policy.set, type.set or upload.set", kind)
	}
	var open string
	if ok, err := t.getJSON(consortiumOpenKey, &open); err != nil {
		return "", err
	} else if ok {
		return "", conflict("proposal %s is still open; one consortium proposal may be open at a time", open)
	}
	if err := t.openProposal(p, cons); err != nil {
		return "", err
	}
	if err := t.putJSON(consortiumOpenKey, p.ID); err != nil {
		return "", err
	}
	if err := t.setEvent("ConsortiumProposed", p); err != nil {
		return "", err
	}
	return out(p)
}

// ConsortiumVote casts the caller's org's vote ("approve" or "reject") on an
// open consortium proposal. Admins of orgs in the proposal's electorate only;
// one vote per org. The change applies when the policy is met.
func (c *Contract) ConsortiumVote(ctx contractapi.TransactionContextInterface, proposalID, decision string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	cons, err := t.memberAdmin("vote on proposals")
	if err != nil {
		return "", err
	}
	p, err := t.loadProposal(proposalID)
	if err != nil {
		return "", err
	}
	if p.Kind == KindRuleApprove || p.Kind == KindRuleRevoke {
		return "", errf("proposal %s is a %s proposal; vote on it with %s, naming the rule's code hash", p.ID, p.Kind, map[string]string{KindRuleApprove: "RuleVote", KindRuleRevoke: "RuleRevokeVote"}[p.Kind])
	}
	status, err := t.castVote(p, decision)
	if err != nil {
		return "", err
	}
	if status == ProposalOpen {
		if err := t.putJSON(key(pfxProposal, p.ID), p); err != nil {
			return "", err
		}
		if err := t.setEvent("ConsortiumVoted", p); err != nil {
			return "", err
		}
		return out(p)
	}
	if status == ProposalApproved {
		switch p.Kind {
		case KindMemberAdd:
			cons.Members = append(cons.Members, p.Subject)
			sort.Strings(cons.Members)
			cons.Former = without(cons.Former, p.Subject)
		case KindMemberRemove:
			cons.Members = without(cons.Members, p.Subject)
			cons.Former = append(cons.Former, p.Subject)
			sort.Strings(cons.Former)
			setAliases(cons, p.Subject, nil)
		case KindMemberAlias:
			if !slices.Contains(cons.Members, p.Subject) {
				return "", conflict("%s is no longer a member; its aliases cannot be set", p.Subject)
			}
			setAliases(cons, p.Subject, p.Aliases)
		case KindPolicySet:
			cons.Policy = *p.Policy
		case KindUploadSet:
			cons.UploadAccess = p.Subject
		case KindTypeSet:
			replaced := false
			for i := range cons.Types {
				if cons.Types[i].Name == p.Type.Name {
					cons.Types[i], replaced = *p.Type, true
				}
			}
			if !replaced {
				cons.Types = append(cons.Types, *p.Type)
				sort.Slice(cons.Types, func(i, j int) bool { return cons.Types[i].Name < cons.Types[j].Name })
			}
		}
		cons.Version++
		cons.Updated = t.stamp()
		if err := t.putJSON(keyConsortium, cons); err != nil {
			return "", err
		}
	}
	if err := t.putJSON(key(pfxProposal, p.ID), p); err != nil {
		return "", err
	}
	if err := t.stub.DelState(consortiumOpenKey); err != nil {
		return "", err
	}
	if err := t.setEvent("ConsortiumDecided", p); err != nil {
		return "", err
	}
	return out(p)
}

// ProposalGet returns a proposal with its votes.
func (c *Contract) ProposalGet(ctx contractapi.TransactionContextInterface, proposalID string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read proposals"); err != nil {
		return "", err
	}
	p, err := t.loadProposal(proposalID)
	if err != nil {
		return "", err
	}
	return out(p)
}

// ProposalList lists proposals, optionally only those with status (open,
// approved, rejected), a page at a time.
func (c *Contract) ProposalList(ctx contractapi.TransactionContextInterface, status, pageSize, bookmark string) (string, error) {
	t, err := begin(ctx)
	if err != nil {
		return "", err
	}
	if _, err := t.member("read proposals"); err != nil {
		return "", err
	}
	if status != "" && status != ProposalOpen && status != ProposalApproved && status != ProposalRejected {
		return "", errf("status %q is not valid: it must be empty, open, approved or rejected", status)
	}
	page, err := scanPage(t, pfxProposal, prefixEnd(pfxProposal), pageSize, bookmark, func(k string, v []byte) (*Proposal, bool, error) {
		var p Proposal
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, false, err
		}
		return &p, status == "" || p.Status == status, nil
	})
	if err != nil {
		return "", err
	}
	return out(page)
}

// ---- proposal mechanics ----

// openProposal fixes the electorate and the approvals needed, and stores p
// under the transaction ID.
func (t *txn) openProposal(p *Proposal, cons *Consortium) error {
	p.ID = t.id
	p.Electorate = append([]string(nil), cons.Members...)
	p.Required = required(cons.Policy, len(cons.Members))
	p.Votes = []Vote{}
	p.Status = ProposalOpen
	p.OpenedBy = t.actor()
	p.Opened = t.stamp()
	if ok, err := t.exists(key(pfxProposal, p.ID)); err != nil {
		return err
	} else if ok {
		return conflict("a proposal was already opened in transaction %s", t.id)
	}
	return t.putJSON(key(pfxProposal, p.ID), p)
}

func (t *txn) loadProposal(id string) (*Proposal, error) {
	if id == "" {
		return nil, errf("proposal_id is required")
	}
	if strings.ContainsAny(id, "/\x00") || len(id) > 256 {
		return nil, errf("proposal_id %q is not valid", id)
	}
	var p Proposal
	ok, err := t.getJSON(key(pfxProposal, id), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("proposal_id %s names no proposal", id)
	}
	return &p, nil
}

// castVote records the caller's org's vote and decides the proposal when the
// policy is met or can no longer be met. It returns the proposal's status.
func (t *txn) castVote(p *Proposal, decision string) (string, error) {
	if decision != VoteApprove && decision != VoteReject {
		return "", errf("decision %q is not valid: it must be approve or reject", decision)
	}
	if p.Status != ProposalOpen {
		return "", conflict("proposal %s is already %s; votes are closed", p.ID, p.Status)
	}
	if !slices.Contains(p.Electorate, t.msp) {
		return "", denied("only admins of orgs in the electorate of proposal %s (%s) may vote on it; %s is not one", p.ID, strings.Join(p.Electorate, ", "), t.msp)
	}
	for _, v := range p.Votes {
		if v.Org == t.msp {
			return "", conflict("%s already voted %s on proposal %s (transaction %s); one vote per org", t.msp, v.Decision, p.ID, v.Tx)
		}
	}
	p.Votes = append(p.Votes, Vote{Org: t.msp, Decision: decision, By: t.clientID, Stamp: t.stamp()})
	sort.Slice(p.Votes, func(i, j int) bool { return p.Votes[i].Org < p.Votes[j].Org })
	approve, reject := 0, 0
	for _, v := range p.Votes {
		if v.Decision == VoteApprove {
			approve++
		} else {
			reject++
		}
	}
	switch {
	case approve >= p.Required:
		p.Status = ProposalApproved
	case reject > len(p.Electorate)-p.Required:
		p.Status = ProposalRejected
	}
	if p.Status != ProposalOpen {
		s := t.stamp()
		p.Decided = &s
	}
	return p.Status, nil
}

// maxAliases bounds the aliases of one member.
const maxAliases = 8

// parseAliases parses a member.alias value, "<MSP ID>=<alias>,<alias>...":
// the member and its aliases, sorted. An alias has the form of an MSP ID,
// is no member's or former member's MSP ID, and is not another member's
// alias already. The value in force is refused (nothing would change).
func parseAliases(cons *Consortium, field, value string) (string, []string, error) {
	msp, list, ok := strings.Cut(value, "=")
	if !ok {
		return "", nil, errf("%s %q is not valid: it must be <MSP ID>=<alias>,<alias>... (e.g. Org1MSP=00001,CNIC), or <MSP ID>= to remove the member's aliases", field, value)
	}
	if err := checkOrg(field+" MSP ID", msp); err != nil {
		return "", nil, err
	}
	if !slices.Contains(cons.Members, msp) {
		return "", nil, conflict("%s %s is not a member; aliases name members", field, msp)
	}
	var aliases []string
	if strings.TrimSpace(list) != "" {
		aliases = strings.Split(list, ",")
	}
	if len(aliases) > maxAliases {
		return "", nil, errf("%s gives %d aliases; at most %d are allowed per member", field, len(aliases), maxAliases)
	}
	for i, a := range aliases {
		a = strings.TrimSpace(a)
		aliases[i] = a
		if err := checkOrg(field+" alias", a); err != nil {
			return "", nil, err
		}
		if slices.Contains(cons.Members, a) || slices.Contains(cons.Former, a) {
			return "", nil, errf("%s alias %s is the MSP ID of an org; an alias must be another name", field, a)
		}
		if other, ok := cons.Aliases[a]; ok && other != msp {
			return "", nil, conflict("%s alias %s already names %s", field, a, other)
		}
	}
	aliases, err := uniqueSorted(field+" aliases", aliases)
	if err != nil {
		return "", nil, err
	}
	if strings.Join(aliases, ",") == strings.Join(aliasesOf(cons, msp), ",") {
		if len(aliases) == 0 {
			return "", nil, conflict("%s %s has no aliases to remove", field, msp)
		}
		return "", nil, conflict("%s: %s already has exactly the aliases %s", field, msp, strings.Join(aliases, ","))
	}
	return msp, aliases, nil
}

// aliasesOf lists msp's aliases, sorted.
func aliasesOf(cons *Consortium, msp string) []string {
	var out []string
	for _, a := range slices.Sorted(maps.Keys(cons.Aliases)) {
		if cons.Aliases[a] == msp {
			out = append(out, a)
		}
	}
	return out
}

// setAliases replaces msp's aliases with aliases.
func setAliases(cons *Consortium, msp string, aliases []string) {
	for _, a := range aliasesOf(cons, msp) {
		delete(cons.Aliases, a)
	}
	if len(aliases) > 0 && cons.Aliases == nil {
		cons.Aliases = map[string]string{}
	}
	for _, a := range aliases {
		cons.Aliases[a] = msp
	}
	if len(cons.Aliases) == 0 {
		cons.Aliases = nil
	}
}

// orgByName resolves a name of an org as the seed prototype's calls give
// it: an alias (its code or short name) or a member's MSP ID.
func orgByName(cons *Consortium, field, v string) (string, error) {
	if msp, ok := cons.Aliases[v]; ok {
		return msp, nil
	}
	if err := checkOrg(field, v); err != nil {
		return "", err
	}
	if slices.Contains(cons.Members, v) {
		return v, nil
	}
	known := make([]string, 0, len(cons.Aliases))
	for _, a := range slices.Sorted(maps.Keys(cons.Aliases)) {
		known = append(known, a+"="+cons.Aliases[a])
	}
	list := "none yet"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	return "", notFound("%s %s is neither an alias of a member nor a member's MSP ID (aliases: %s); the members register an org's code and name by vote: ConsortiumPropose member.alias \"<MSP ID>=<code>,<name>\"", field, v, list)
}

// orgByNameAndCode resolves the prototype's pair (short name, code) of one
// org; both must name the same member.
func orgByNameAndCode(cons *Consortium, role, name, code string) (string, error) {
	byName, err := orgByName(cons, role+"_name", name)
	if err != nil {
		return "", err
	}
	byCode, err := orgByName(cons, role+"_code", code)
	if err != nil {
		return "", err
	}
	if byName != byCode {
		return "", errf("%s_name %s is %s but %s_code %s is %s; they must name the same org", role, name, byName, role, code, byCode)
	}
	return byCode, nil
}
