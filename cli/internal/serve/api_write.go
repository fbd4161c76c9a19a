package serve

import (
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// The rest of the write side: prices, quotas, rule upload, activation and
// revocation, and consortium proposals. Each handler reads a JSON body
// (a rule's module may also come as application/wasm), calls one method
// of cli/client, and leaves the decision to the contract: what the
// caller's identity may do, and the refusal code when it may not.

// writeOperations documents the routes of this file in /openapi.json;
// init adds them to operations, so that this file and openapi.go's table
// change independently.
var writeOperations = []operation{
	{method: "POST", path: "/api/v1/prices/{provider}/{type}", id: "setPrice", summary: "publish the caller's org's prices for a resource type (a provider admin); provider must be the caller's org",
		params: []param{{name: "provider", in: "path"}, {name: "type", in: "path"}}, body: reflect.TypeFor[PriceSetBody](), bodyRequired: true, status: 201, resp: reflect.TypeFor[model.PriceBook]()},
	{method: "POST", path: "/api/v1/quotas/{provider}/{consumer}", id: "setQuota", summary: "grant a consumer org a quota at the caller's org (a provider admin); provider must be the caller's org",
		params: []param{{name: "provider", in: "path"}, {name: "consumer", in: "path"}}, body: reflect.TypeFor[QuotaSetBody](), bodyRequired: true, resp: reflect.TypeFor[model.Quota]()},
	{method: "POST", path: "/api/v1/rules", id: "uploadRule", summary: "upload a rule version (its Wasm module base64 in JSON, or the bytes as application/wasm with the metadata in the query) and open its vote",
		params: []param{
			{name: "name", in: "query", desc: "application/wasm only: the rule's name"},
			{name: "version", in: "query", desc: "application/wasm only: its version"},
			{name: "types", in: "query", desc: "application/wasm only: the resource types it prices, comma-separated"},
			{name: "author", in: "query", desc: "application/wasm only: who wrote it"},
			{name: "description", in: "query", desc: "application/wasm only"},
		},
		body: reflect.TypeFor[RuleUploadBody](), bodyRequired: true, wasm: true, status: 201, resp: reflect.TypeFor[model.Rule]()},
	{method: "POST", path: "/api/v1/rules/{ref}/activations", id: "activateRule", summary: "bind a resource type to this approved rule from a time (an org admin)",
		params: []param{{name: "ref", in: "path"}}, body: reflect.TypeFor[ActivateBody](), bodyRequired: true, status: 201, resp: reflect.TypeFor[model.Activations]()},
	{method: "POST", path: "/api/v1/rules/{ref}/revocation", id: "proposeRevocation", summary: "open the vote on revoking this approved rule (an org admin); vote on it with POST /api/v1/rules/{ref}/votes and revocation true",
		params: []param{{name: "ref", in: "path"}}, body: reflect.TypeFor[RevocationBody](), bodyRequired: true, status: 201, resp: reflect.TypeFor[RuleVoteResult]()},
	{method: "POST", path: "/api/v1/proposals", id: "propose", summary: "open a consortium vote (an admin of a member org): member.add, member.remove, member.alias, policy.set, type.set or upload.set",
		body: reflect.TypeFor[ProposalBody](), bodyRequired: true, status: 201, resp: reflect.TypeFor[model.Proposal]()},
}

func init() { operations = append(operations, writeOperations...) }

// timeArg turns a time of a body (RFC 3339 or Unix seconds; empty: now)
// into the contract's Unix seconds.
func timeArg(field, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return v, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return "", badArg("%s %q is not a time: it must be RFC 3339 (2026-01-01T00:00:00Z) or Unix seconds", field, v)
	}
	return unixArg(t), nil
}

// ownOrg refuses a path that names another org than the caller's: the
// contract writes prices and quotas for the caller's org, so a path
// naming another would write somewhere else than it says.
func ownOrg(c *client.Client, fn, org string) error {
	if org == c.MSPID() {
		return nil
	}
	return &client.Error{Kind: client.KindDenied, Code: model.CodeDenied, Op: fn,
		Msg:  "the caller is of " + c.MSPID() + " and may not write for " + org + ": an org sets only its own prices and quotas",
		Hint: "use a token of an admin of " + org + ", or put " + c.MSPID() + " in the path"}
}

// PriceSetBody is POST /api/v1/prices/{provider}/{type}'s body: a price
// book entry (minor units of currency at scale, per unit) and when it
// takes effect.
type PriceSetBody struct {
	Currency   string           `json:"currency"`
	Scale      int              `json:"scale"`
	UnitPrices map[string]int64 `json:"unit_prices"`
	// Parameters names the entries of unit_prices that are quantities,
	// not money (model.PriceEntry.IsParameter).
	Parameters []string `json:"parameters,omitempty"`
	// EffectiveFrom is RFC 3339 or Unix seconds; empty: now.
	EffectiveFrom string `json:"effective_from,omitempty"`
}

func (s *Server) setPrice(r *http.Request, c *client.Client) (int, any, error) {
	var b PriceSetBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	if err := ownOrg(c, "PriceSet", r.PathValue("provider")); err != nil {
		return 0, nil, err
	}
	from, err := timeArg("effective_from", b.EffectiveFrom)
	if err != nil {
		return 0, nil, err
	}
	pb, err := c.SetPrice(r.Context(), r.PathValue("type"), client.Prices{Currency: b.Currency, Scale: b.Scale, UnitPrices: b.UnitPrices, Parameters: b.Parameters}, from)
	return http.StatusCreated, pb, err
}

// QuotaSetBody is POST /api/v1/quotas/{provider}/{consumer}'s body: the
// limits (max_days and the type catalog's spec fields). It replaces the
// quota's limits.
type QuotaSetBody struct {
	Limits map[string]int64 `json:"limits"`
}

func (s *Server) setQuota(r *http.Request, c *client.Client) (int, any, error) {
	var b QuotaSetBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	if err := ownOrg(c, "QuotaSet", r.PathValue("provider")); err != nil {
		return 0, nil, err
	}
	if len(b.Limits) == 0 {
		return 0, nil, badArg("limits is empty: a quota names at least one limit (max_days, vcpu, ...)")
	}
	q, err := c.SetQuota(r.Context(), r.PathValue("consumer"), b.Limits)
	return 200, q, err
}

// RuleUploadBody is POST /api/v1/rules's JSON body: the rule's metadata
// and its Wasm module (base64 in JSON).
type RuleUploadBody struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Types       []string `json:"types"`
	Author      string   `json:"author"`
	Description string   `json:"description,omitempty"`
	// Module is the Wasm module's bytes (base64 in JSON).
	Module []byte `json:"module"`
	// Provenance, if set, is stored with the rule (source hash, toolchain).
	Provenance *model.Provenance `json:"provenance,omitempty"`
}

var ruleQuery = []string{"name", "version", "types", "author", "description"}

func (s *Server) uploadRule(r *http.Request, c *client.Client) (int, any, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	var b RuleUploadBody
	switch mt {
	case "application/json":
		for _, k := range ruleQuery {
			if r.URL.Query().Has(k) {
				return 0, nil, badArg("query parameter %s is for application/wasm uploads: with JSON the metadata is in the body", k)
			}
		}
		if err := readJSON(r, &b); err != nil {
			return 0, nil, err
		}
	case "application/wasm":
		q := r.URL.Query()
		b.Name, b.Version, b.Author, b.Description = q.Get("name"), q.Get("version"), q.Get("author"), q.Get("description")
		for _, t := range strings.Split(q.Get("types"), ",") {
			if t = strings.TrimSpace(t); t != "" {
				b.Types = append(b.Types, t)
			}
		}
		var err error
		if b.Module, err = io.ReadAll(r.Body); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, newProblem(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"a rule is uploaded as application/json (its module base64 in \"module\") or application/wasm (the module's bytes, the metadata in the query), not "+strconv.Quote(ct),
			"set Content-Type to one of those")
	}
	if len(b.Module) == 0 {
		return 0, nil, badArg("the rule's module is empty: send the Wasm module's bytes")
	}
	if b.Name == "" || b.Version == "" || len(b.Types) == 0 {
		return 0, nil, badArg("a rule needs a name, a version and the resource types it prices (types)")
	}
	rule, err := c.UploadRule(r.Context(), client.RuleMeta{Name: b.Name, Version: b.Version, Types: b.Types, Author: b.Author,
		Description: b.Description, Provenance: b.Provenance}, b.Module)
	return http.StatusCreated, rule, err
}

// ActivateBody is POST /api/v1/rules/{ref}/activations's body: the
// resource type the rule will bill, from when.
type ActivateBody struct {
	Type string `json:"type"`
	// EffectiveFrom is RFC 3339 or Unix seconds; empty: now.
	EffectiveFrom string `json:"effective_from,omitempty"`
}

func (s *Server) activateRule(r *http.Request, c *client.Client) (int, any, error) {
	var b ActivateBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	if b.Type == "" {
		return 0, nil, badArg("type is empty: name the resource type the rule will bill")
	}
	from, err := timeArg("effective_from", b.EffectiveFrom)
	if err != nil {
		return 0, nil, err
	}
	a, err := c.ActivateRule(r.Context(), b.Type, r.PathValue("ref"), from)
	return http.StatusCreated, a, err
}

// RevocationBody is POST /api/v1/rules/{ref}/revocation's body: why.
type RevocationBody struct {
	Reason string `json:"reason"`
}

func (s *Server) proposeRevocation(r *http.Request, c *client.Client) (int, any, error) {
	var b RevocationBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	p, rule, err := c.ProposeRevocation(r.Context(), r.PathValue("ref"), b.Reason)
	return http.StatusCreated, RuleVoteResult{Proposal: p, Rule: rule}, err
}

// ProposalBody is POST /api/v1/proposals's body: a consortium vote to
// open, as `fedmeter member propose` opens it.
type ProposalBody struct {
	// Kind is member.add, member.remove, member.alias, policy.set,
	// type.set or upload.set (the contract checks it and the value).
	Kind string `json:"kind"`
	// Value is what the kind changes to: an MSP ID, a policy (majority,
	// unanimous, threshold:N), a type definition's JSON, or admins or
	// members.
	Value  string `json:"value"`
	Reason string `json:"reason,omitempty"`
}

func (s *Server) propose(r *http.Request, c *client.Client) (int, any, error) {
	var b ProposalBody
	if err := readJSON(r, &b); err != nil {
		return 0, nil, err
	}
	p, err := c.Propose(r.Context(), b.Kind, b.Value, b.Reason)
	return http.StatusCreated, p, err
}
