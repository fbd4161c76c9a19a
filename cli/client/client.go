package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Client is typed helpers over a Backend: each method runs one contract
// transaction (or, for lists, one per page) and decodes its result into the
// contract's types (package chaincode/model). Errors are *Error.
type Client struct {
	b Backend
}

// New returns a Client on b.
func New(b Backend) *Client { return &Client{b: b} }

// Backend is the client's backend.
func (c *Client) Backend() Backend { return c.b }

// MSPID is the MSP ID the client acts as.
func (c *Client) MSPID() string { return c.b.MSPID() }

func call[T any](ctx context.Context, c *Client, write bool, fn string, args ...string) (*T, error) {
	var b []byte
	var err error
	if write {
		b, err = c.b.Submit(ctx, fn, args...)
	} else {
		b, err = c.b.Evaluate(ctx, fn, args...)
	}
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, &Error{Kind: KindInternal, Op: fn, Err: err,
			Msg:  fmt.Sprintf("%s returned a result this fedmeter cannot read: %v", fn, err),
			Hint: "this fedmeter build and the deployed chaincode differ; use matching releases"}
	}
	return v, nil
}

// pageSize is how many items each page request asks for.
const pageSize = "500"

// pages yields every item of a list transaction, reading a page (pageSize
// items) only when the caller has taken the one before: a caller that
// stops early reads no further, and one that goes through 100,000 bills
// holds one page at a time. args are the arguments before pageSize and
// bookmark. An error ends the sequence, yielded with the zero item.
func pages[T any](ctx context.Context, c *Client, fn string, args ...string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		bookmark := ""
		for {
			p, err := call[model.Page[T]](ctx, c, false, fn, append(append([]string{}, args...), pageSize, bookmark)...)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range p.Items {
				if !yield(v, nil) {
					return
				}
			}
			if p.Bookmark == "" || p.Bookmark == bookmark {
				return
			}
			bookmark = p.Bookmark
		}
	}
}

// collect gathers a sequence of pages into a slice, or its error.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// all fetches every page of a list transaction; args are the arguments
// before pageSize and bookmark.
func all[T any](ctx context.Context, c *Client, fn string, args ...string) ([]T, error) {
	return collect(pages[T](ctx, c, fn, args...))
}

// ---- consortium ----

// Consortium returns the members, the approval policy and the type catalog.
func (c *Client) Consortium(ctx context.Context) (*model.Consortium, error) {
	return call[model.Consortium](ctx, c, false, "ConsortiumGet")
}

// Propose opens a consortium vote: kind member.add, member.remove,
// policy.set, type.set or upload.set, with its value (an MSP ID, a policy, a
// type JSON, admins or members).
func (c *Client) Propose(ctx context.Context, kind, value, reason string) (*model.Proposal, error) {
	return call[model.Proposal](ctx, c, true, "ConsortiumPropose", kind, value, reason)
}

// Vote casts the caller's org's vote (approve or reject) on a consortium
// proposal.
func (c *Client) Vote(ctx context.Context, proposalID, decision string) (*model.Proposal, error) {
	return call[model.Proposal](ctx, c, true, "ConsortiumVote", proposalID, decision)
}

// Proposal returns a proposal with its votes.
func (c *Client) Proposal(ctx context.Context, id string) (*model.Proposal, error) {
	return call[model.Proposal](ctx, c, false, "ProposalGet", id)
}

// Proposals lists proposals, optionally only those with status (open,
// approved, rejected).
func (c *Client) Proposals(ctx context.Context, status string) ([]model.Proposal, error) {
	return all[model.Proposal](ctx, c, "ProposalList", status)
}

// ---- rules ----

// RuleMeta describes a rule version at upload.
type RuleMeta struct {
	Name        string
	Version     string
	Types       []string // resource types it prices
	Author      string
	Description string
	// Provenance, if set, is stored with the rule: the source tree's
	// SHA-256 (rules/build.SourceHash) and the toolchain that built it
	// (RuleUploadWithProvenance). Nil uploads without (RuleUpload).
	Provenance *model.Provenance
}

// UploadRule uploads a Wasm module as a rule version and opens its vote.
func (c *Client) UploadRule(ctx context.Context, m RuleMeta, module []byte) (*model.Rule, error) {
	args := []string{m.Name, m.Version, strings.Join(m.Types, ","), m.Author, m.Description, base64.StdEncoding.EncodeToString(module)}
	if m.Provenance == nil {
		return call[model.Rule](ctx, c, true, "RuleUpload", args...)
	}
	pv, err := json.Marshal(m.Provenance)
	if err != nil {
		return nil, Errorf(KindInternal, "the provenance cannot be encoded: %v", err)
	}
	return call[model.Rule](ctx, c, true, "RuleUploadWithProvenance", append(args, string(pv))...)
}

// Rule returns a rule by code hash or name@version.
func (c *Client) Rule(ctx context.Context, ref string) (*model.Rule, error) {
	return call[model.Rule](ctx, c, false, "RuleGet", ref)
}

// TypeActivation is an activation of a rule for one resource type.
type TypeActivation struct {
	Type string `json:"type"`
	model.Activation
}

// RuleStatus is a rule with its approval vote, its revocation vote if any,
// and where it is activated.
type RuleStatus struct {
	Rule        *model.Rule      `json:"rule"`
	Proposal    *model.Proposal  `json:"proposal"`
	Revocation  *model.Proposal  `json:"revocation,omitempty"`
	Activations []TypeActivation `json:"activations"`
}

// RuleStatus returns a rule (hash or name@version) with its votes.
func (c *Client) RuleStatus(ctx context.Context, ref string) (*RuleStatus, error) {
	return call[RuleStatus](ctx, c, false, "RuleStatus", ref)
}

// Rules lists every rule version.
func (c *Client) Rules(ctx context.Context) ([]model.Rule, error) {
	return all[model.Rule](ctx, c, "RuleList")
}

// VoteRule casts the caller's org's vote (approve or reject) on the rule
// ref (hash or name@version). It looks the rule up first, so the vote
// names the exact code hash, as the contract requires.
func (c *Client) VoteRule(ctx context.Context, ref, decision string) (*model.Proposal, *model.Rule, error) {
	r, err := c.Rule(ctx, ref)
	if err != nil {
		// The vote names the exact code, so the rule is read first; a
		// non-member is refused at that read, and must be told about the
		// vote it tried, not about reading.
		var e *Error
		if errors.As(err, &e) && e.Code == model.CodeNotMember {
			e.Op = "RuleVote"
			e.Msg = fmt.Sprintf("only admins of member orgs may vote on rules; %s is not a member of the consortium", c.MSPID())
			e.Hint = "vote as an admin of a member org, or have the members vote " + c.MSPID() + " in first"
		}
		return nil, nil, err
	}
	p, err := call[model.Proposal](ctx, c, true, "RuleVote", r.Name, r.Version, r.Hash, decision)
	if err != nil {
		return nil, r, err
	}
	r, err = c.Rule(ctx, r.Hash)
	return p, r, err
}

// ActivateRule binds resource type typ to the approved rule ref from
// effectiveFrom (empty: now).
func (c *Client) ActivateRule(ctx context.Context, typ, ref, effectiveFrom string) (*model.Activations, error) {
	r, err := c.Rule(ctx, ref)
	if err != nil {
		return nil, err
	}
	return call[model.Activations](ctx, c, true, "RuleActivate", typ, r.Hash, effectiveFrom)
}

// Activations returns the activations of a resource type, oldest first.
func (c *Client) Activations(ctx context.Context, typ string) (*model.Activations, error) {
	return call[model.Activations](ctx, c, false, "RuleActivations", typ)
}

// ProposeRevocation opens the vote on revoking the approved rule ref.
func (c *Client) ProposeRevocation(ctx context.Context, ref, reason string) (*model.Proposal, *model.Rule, error) {
	r, err := c.Rule(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	p, err := call[model.Proposal](ctx, c, true, "RuleRevoke", r.Hash, reason)
	return p, r, err
}

// VoteRevocation casts the caller's org's vote on the open revocation of
// rule ref: approve revokes, reject keeps.
func (c *Client) VoteRevocation(ctx context.Context, ref, decision string) (*model.Proposal, *model.Rule, error) {
	r, err := c.Rule(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	p, err := call[model.Proposal](ctx, c, true, "RuleRevokeVote", r.Hash, decision)
	if err != nil {
		return nil, r, err
	}
	r, err = c.Rule(ctx, r.Hash)
	return p, r, err
}

// RuleCode downloads a rule's module by code hash (or name@version) and
// checks that its SHA-256 is the hash.
func (c *Client) RuleCode(ctx context.Context, ref string) ([]byte, string, error) {
	hash := ref
	if !reHash.MatchString(ref) {
		r, err := c.Rule(ctx, ref)
		if err != nil {
			return nil, "", err
		}
		hash = r.Hash
	}
	v, err := call[struct {
		Hash   string `json:"hash"`
		Module string `json:"module"`
	}](ctx, c, false, "RuleCode", hash)
	if err != nil {
		return nil, "", err
	}
	code, err := base64.StdEncoding.DecodeString(v.Module)
	if err != nil {
		return nil, "", Errorf(KindInternal, "the code of rule %s is not valid base64: %v", hash, err)
	}
	sum := sha256.Sum256(code)
	if got := hex.EncodeToString(sum[:]); got != hash {
		return nil, "", Errorf(KindMismatch, "the code returned for rule %s hashes to %s", hash, got)
	}
	return code, hash, nil
}

var reHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// QuoteRequest is a price calculation: what would the rule bill for this
// resource, usage and period? Nothing is written.
type QuoteRequest struct {
	Provider string
	Type     string
	Spec     map[string]int64
	Usage    map[string]int64
	Start    string // Unix seconds or RFC 3339
	End      string
	// Rule is a code hash or name@version; empty means the rule active for
	// the type at End.
	Rule string
}

// Quote prices a hypothetical resource with the active (or a named) rule.
func (c *Client) Quote(ctx context.Context, q QuoteRequest) (*model.Quote, error) {
	hash := q.Rule
	if hash != "" && !reHash.MatchString(hash) {
		r, err := c.Rule(ctx, hash)
		if err != nil {
			return nil, err
		}
		hash = r.Hash
	}
	return call[model.Quote](ctx, c, false, "BillQuote", q.Provider, q.Type, jsonInts(q.Spec), jsonInts(q.Usage), q.Start, q.End, hash)
}

func jsonInts(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// ---- prices and quotas ----

// Prices is a price book entry to publish: minor units of Currency
// (10^-Scale) per named unit. Parameters names the entries of UnitPrices
// that are quantities, not money (see model.PriceEntry.IsParameter).
type Prices struct {
	Currency   string           `json:"currency"`
	Scale      int              `json:"scale"`
	UnitPrices map[string]int64 `json:"unit_prices"`
	Parameters []string         `json:"parameters,omitempty"`
}

// SetPrice publishes the caller's (a provider admin's) prices for a type,
// in force from effectiveFrom (empty: now).
func (c *Client) SetPrice(ctx context.Context, typ string, p Prices, effectiveFrom string) (*model.PriceBook, error) {
	b, _ := json.Marshal(p)
	return call[model.PriceBook](ctx, c, true, "PriceSet", typ, string(b), effectiveFrom)
}

// PriceInForce is a provider's price entry for a type.
type PriceInForce struct {
	Provider string           `json:"provider"`
	Type     string           `json:"type"`
	Entry    model.PriceEntry `json:"entry"`
}

// Price returns the provider's prices for typ in force at at (empty: now).
func (c *Client) Price(ctx context.Context, provider, typ, at string) (*PriceInForce, error) {
	return call[PriceInForce](ctx, c, false, "PriceGet", provider, typ, at)
}

// Prices lists the prices in force now, of one provider or (empty) all.
func (c *Client) Prices(ctx context.Context, provider string) ([]PriceInForce, error) {
	return all[PriceInForce](ctx, c, "PriceList", provider)
}

// PriceHistory returns a provider's whole price book for a type.
func (c *Client) PriceHistory(ctx context.Context, provider, typ string) (*model.PriceBook, error) {
	return call[model.PriceBook](ctx, c, false, "PriceHistory", provider, typ)
}

// SetQuota grants consumer limits at the caller's org (max_days and spec
// fields).
func (c *Client) SetQuota(ctx context.Context, consumer string, limits map[string]int64) (*model.Quota, error) {
	b, _ := json.Marshal(limits)
	return call[model.Quota](ctx, c, true, "QuotaSet", consumer, string(b))
}

// Quota returns what provider granted consumer and how much is held.
func (c *Client) Quota(ctx context.Context, provider, consumer string) (*model.Quota, error) {
	return call[model.Quota](ctx, c, false, "QuotaGet", provider, consumer)
}

// ---- resources ----

// ResourceRequest asks a provider for a resource for the caller's org.
type ResourceRequest struct {
	ID         string // empty: derived from the transaction ID
	Provider   string
	Type       string
	Spec       map[string]int64
	Days       int64
	Attributes map[string]string
}

// RequestResource requests a resource against the caller's quota.
func (c *Client) RequestResource(ctx context.Context, r ResourceRequest) (*model.Resource, error) {
	return call[model.Resource](ctx, c, true, "ResourceRequest", append([]string{r.ID}, r.args()...)...)
}

// args are the request's arguments after the ID(s): provider, type, spec,
// days, attributes.
func (r ResourceRequest) args() []string {
	attrs := ""
	if len(r.Attributes) > 0 {
		b, _ := json.Marshal(r.Attributes)
		attrs = string(b)
	}
	spec, _ := json.Marshal(r.Spec)
	if r.Spec == nil {
		spec = []byte("{}")
	}
	return []string{r.Provider, r.Type, string(spec), strconv.FormatInt(r.Days, 10), attrs}
}

// RequestResources requests len(ids) resources like r (its ID is not
// used) in one transaction: the quota must hold them all, and nothing is
// requested otherwise. An empty ID is derived by the contract. At most
// MaxRequestBatch IDs. On Fabric, requests of one consumer from one
// provider update the same quota, so they commit one per block; a cluster
// requested this way is one transaction.
func (c *Client) RequestResources(ctx context.Context, r ResourceRequest, ids []string) ([]model.Resource, error) {
	if len(ids) == 0 || len(ids) > MaxRequestBatch {
		return nil, Errorf(KindInvalid, "%d resources cannot be requested at once: 1 to %d can", len(ids), MaxRequestBatch)
	}
	list, _ := json.Marshal(ids)
	out, err := call[[]model.Resource](ctx, c, true, "ResourceRequestMany", append([]string{string(list)}, r.args()...)...)
	if err != nil {
		return nil, err
	}
	return *out, nil
}

// MaxRequestBatch is the most resources RequestResources asks for at once
// (the contract's limit).
const MaxRequestBatch = 100

// ActivateResource records that the provider provisioned the resource:
// holding and billing start.
func (c *Client) ActivateResource(ctx context.Context, id string) (*model.Resource, error) {
	return call[model.Resource](ctx, c, true, "ResourceActivate", id)
}

// Release is the outcome of releasing a resource: its ID and new status and, for an
// active one, its final bill's summary (Client.Bill reads the bill).
type Release struct {
	Resource model.ReleasedResource `json:"resource"`
	Bill     *model.BillSummary     `json:"bill,omitempty"`
	// Pending is set instead of Bill when the rule failed: the resource
	// is released and its quota returned; the provider issues the bill
	// with CloseBill once a working rule is active for the type.
	Pending *model.PendingBill `json:"pending_bill,omitempty"`
	// Overrun is how long (seconds) the resource was held past its
	// allocation's expiry: not billed.
	Overrun int64 `json:"overrun_seconds,omitempty"`
}

// ReleaseResource ends a resource's holding and bills it.
func (c *Client) ReleaseResource(ctx context.Context, id string) (*Release, error) {
	return call[Release](ctx, c, true, "ResourceRelease", id)
}

// Resource returns a resource.
func (c *Client) Resource(ctx context.Context, id string) (*model.Resource, error) {
	return call[model.Resource](ctx, c, false, "ResourceGet", id)
}

// Resources lists the caller's resources as provider or consumer (role),
// optionally with one status.
func (c *Client) Resources(ctx context.Context, role, status string) ([]model.Resource, error) {
	return collect(c.ResourcesSeq(ctx, role, status))
}

// ResourcesSeq yields what Resources returns, in the same order, reading
// the ledger a page at a time as the loop asks for more.
func (c *Client) ResourcesSeq(ctx context.Context, role, status string) iter.Seq2[model.Resource, error] {
	return pages[model.Resource](ctx, c, "ResourceList", role, status)
}

// Usage lists a resource's usage records.
func (c *Client) Usage(ctx context.Context, resourceID string) ([]model.UsageRecord, error) {
	return collect(c.UsageSeq(ctx, resourceID))
}

// UsageSeq yields what Usage returns, in the same order (by end time, then
// start), reading the ledger a page at a time as the loop asks for more.
func (c *Client) UsageSeq(ctx context.Context, resourceID string) iter.Seq2[model.UsageRecord, error] {
	return pages[model.UsageRecord](ctx, c, "UsageList", resourceID)
}

// ---- bills ----

// Bill returns a bill.
func (c *Client) Bill(ctx context.Context, id string) (*model.Bill, error) {
	return call[model.Bill](ctx, c, false, "BillGet", id)
}

// BillFilter selects bills for Bills.
type BillFilter struct {
	// Role is "provider" (bills the caller's org issued), "consumer" (bills
	// it received) or "" (both).
	Role string
	// Resource, if set, lists that resource's bills instead.
	Resource string
	// From and To bound the period end: [From, To); the zero time is
	// unbounded. The ledger counts whole seconds.
	From, To time.Time
}

// unixArg is t as the contract's time argument (Unix seconds), or "" for
// the zero time.
func unixArg(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// Bills lists bills of the caller's org, by period end, then bill ID.
func (c *Client) Bills(ctx context.Context, f BillFilter) ([]model.Bill, error) {
	return collect(c.BillsSeq(ctx, f))
}

// BillsSeq yields what Bills returns, in the same order, reading the ledger
// a page at a time as the loop asks for more: an export or a report over
// an org's 100,000 bills holds a page, not the list. With no role, the
// bills the org issued and those it received are merged as they arrive.
func (c *Client) BillsSeq(ctx context.Context, f BillFilter) iter.Seq2[model.Bill, error] {
	if f.Resource != "" {
		return pages[model.Bill](ctx, c, "BillListByResource", f.Resource)
	}
	org, from, to := c.b.MSPID(), unixArg(f.From), unixArg(f.To)
	issued := pages[model.Bill](ctx, c, "BillListByProvider", org, from, to)
	received := pages[model.Bill](ctx, c, "BillListByConsumer", org, from, to)
	switch f.Role {
	case "provider":
		return issued
	case "consumer":
		return received
	case "":
		return mergeBills(issued, received)
	}
	return func(yield func(model.Bill, error) bool) {
		yield(model.Bill{}, Errorf(KindInvalid, "role %q is not valid: it must be provider, consumer or empty for both", f.Role))
	}
}

// mergeBills merges two sequences of bills, each by period end and then
// bill ID (the contract's list order), into one in that order. An org
// cannot bill itself, so no bill is in both.
func mergeBills(a, b iter.Seq2[model.Bill, error]) iter.Seq2[model.Bill, error] {
	return func(yield func(model.Bill, error) bool) {
		nextA, stopA := iter.Pull2(a)
		defer stopA()
		nextB, stopB := iter.Pull2(b)
		defer stopB()
		x, errX, okX := nextA()
		y, errY, okY := nextB()
		for okX || okY {
			switch {
			case okX && errX != nil:
				yield(model.Bill{}, errX)
				return
			case okY && errY != nil:
				yield(model.Bill{}, errY)
				return
			case okX && (!okY || !billAfter(x, y)):
				if !yield(x, nil) {
					return
				}
				x, errX, okX = nextA()
			default:
				if !yield(y, nil) {
					return
				}
				y, errY, okY = nextB()
			}
		}
	}
}

// billAfter reports whether bill a comes after bill b in list order.
func billAfter(a, b model.Bill) bool {
	if a.Period.End != b.Period.End {
		return a.Period.End > b.Period.End
	}
	return a.ID > b.ID
}

// CloseBill bills an active resource's period up to end (empty: now) and
// returns the bill's summary (Client.Bill reads the bill).
func (c *Client) CloseBill(ctx context.Context, resourceID, end string) (*model.BillSummary, error) {
	return call[model.BillSummary](ctx, c, true, "BillClose", resourceID, end)
}

// Totals sums the caller's bills with period end in [from, to) (the zero
// time: unbounded): receivable and payable per counterparty and currency.
func (c *Client) Totals(ctx context.Context, from, to time.Time) (*model.Totals, error) {
	return call[model.Totals](ctx, c, false, "BillTotals", unixArg(from), unixArg(to))
}

// MonthlyTotals sums the caller's bills per calendar month (UTC) of their
// period end: months months from the month that starts at from (the
// first instant of a month in UTC), each receivable and payable per
// counterparty and currency, in one read of the ledger; with allTime,
// also the totals over all time (MonthlyTotals.AllTime, as Totals gives
// them), in the same read.
func (c *Client) MonthlyTotals(ctx context.Context, from time.Time, months int, allTime bool) (*model.MonthlyTotals, error) {
	return call[model.MonthlyTotals](ctx, c, false, "BillTotalsMonthly", unixArg(from), strconv.Itoa(months), strconv.FormatBool(allTime))
}

// ProviderTotalCost returns the provider's receivables over all time (the
// seed's queryProviderTotalCost).
func (c *Client) ProviderTotalCost(ctx context.Context, provider string) (*model.Totals, error) {
	return call[model.Totals](ctx, c, false, "QueryProviderTotalCost", provider)
}

// ---- history ----

// History returns every version of a ledger entry, named by its key as in
// chaincode/README.md's key layout: consortium, proposal/<id>, rule/<hash>,
// activation/<type>, price/<provider>/<type>, quota/<provider>/<consumer>,
// resource/<id> or bill/<id>.
func (c *Client) History(ctx context.Context, key string) ([]model.HistoryEntry, error) {
	kind, ref, _ := strings.Cut(key, "/")
	switch kind {
	case "consortium", "proposal", "rule", "activation", "price", "quota", "resource", "bill":
	default:
		return nil, Errorf(KindInvalid, "key %q is not a ledger key with history: it must start with consortium, proposal/, rule/, activation/, price/, quota/, resource/ or bill/", key).
			WithHint("for example resource/ecs-1, price/Org1MSP/ecs or quota/Org1MSP/Org2MSP")
	}
	if kind == "consortium" && ref != "" {
		return nil, Errorf(KindInvalid, "key %q is not valid: the consortium's key is just consortium", key)
	}
	h, err := call[[]model.HistoryEntry](ctx, c, false, "History", kind, ref)
	if err != nil {
		return nil, err
	}
	return *h, nil
}

// FormatMoney formats minor units at a scale: (4904, 2) -> "49.04".
func FormatMoney(amount int64, scale int) string {
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = -u
	}
	s := fmt.Sprint(u)
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
