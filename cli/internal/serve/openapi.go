package serve

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/verify"
)

// The OpenAPI 3.0 document at /openapi.json. Its schemas are derived from
// the Go types the handlers encode (their JSON tags: a field without
// omitempty is required; a nil slice, map or pointer may be null), so the
// document cannot drift from the responses by hand; the tests validate
// real responses against it with kin-openapi.

type param struct {
	name, in, desc string
	enum           []string
}

type operation struct {
	method, path, id, summary string
	params                    []param
	body                      reflect.Type // JSON request body, or nil
	bodyRequired              bool
	wasm                      bool   // the body may also be application/wasm (a rule's module)
	bodyNote                  string // a non-JSON body (usage): its description
	status                    int
	resp                      reflect.Type // success document
	page                      bool         // resp is the item type of a Page
	public                    bool         // no token needed
	text                      bool         // text/plain response
	stream                    bool         // text/event-stream response (events.go)
	csv                       bool         // text/csv response (api_settle.go)
}

var (
	pathID       = param{name: "id", in: "path"}
	pageSize     = param{name: "page_size", in: "query", desc: "items per page, 1 to 500 (default 50)"}
	pageTokenP   = param{name: "page_token", in: "query", desc: "the previous page's next_page_token, with the same filters"}
	fromP        = param{name: "from", in: "query", desc: "period end at or after this time (RFC 3339 or Unix seconds)"}
	toP          = param{name: "to", in: "query", desc: "period end before this time (RFC 3339 or Unix seconds)"}
	roleP        = param{name: "role", in: "query", desc: "the caller's org as provider or consumer (default both)", enum: []string{"provider", "consumer"}}
	typeBill     = reflect.TypeFor[model.Bill]()
	typeResource = reflect.TypeFor[model.Resource]()
)

// operations is every route of the API (routes, api.go).
var operations = []operation{
	{method: "GET", path: "/healthz", id: "healthz", summary: "liveness: no token needed", resp: reflect.TypeFor[map[string]string](), public: true},
	{method: "GET", path: "/metrics", id: "metrics", summary: "Prometheus metrics (text exposition format)", text: true},
	{method: "GET", path: "/openapi.json", id: "openapi", summary: "this document", resp: reflect.TypeFor[map[string]any]()},
	{method: "GET", path: "/api/v1/whoami", id: "whoami", summary: "the identity the token acts as", resp: reflect.TypeFor[Whoami]()},
	{method: "GET", path: "/api/v1/bills", id: "listBills", summary: "the caller's org's bills (provider's first, then consumer's); or one resource's",
		params: []param{roleP, {name: "resource", in: "query", desc: "one resource's bills (not with role, from, to)"}, fromP, toP, pageSize, pageTokenP}, resp: typeBill, page: true},
	{method: "GET", path: "/api/v1/bills/{id}", id: "getBill", summary: "a bill with its lines", params: []param{pathID}, resp: typeBill},
	{method: "GET", path: "/api/v1/bills/{id}/verify", id: "verifyBill", summary: "recompute the bill offline and compare (ok false: a mismatch)",
		params: []param{pathID, {name: "head", in: "query", desc: "embedded ledger: the head hash to pin (64 hex digits)"}}, resp: reflect.TypeFor[verify.Verification]()},
	{method: "GET", path: "/api/v1/totals", id: "totals", summary: "receivable and payable per counterparty and currency", params: []param{fromP, toP}, resp: reflect.TypeFor[model.Totals]()},
	{method: "GET", path: "/api/v1/prices", id: "listPrices", summary: "prices in force now",
		params: []param{{name: "provider", in: "query", desc: "one provider's (MSP ID)"}, pageSize, pageTokenP}, resp: reflect.TypeFor[client.PriceInForce](), page: true},
	{method: "GET", path: "/api/v1/prices/{provider}/{type}", id: "getPrice", summary: "a provider's prices for a type in force now or at a time",
		params: []param{{name: "provider", in: "path"}, {name: "type", in: "path"}, {name: "at", in: "query", desc: "RFC 3339 or Unix seconds (default now)"}}, resp: reflect.TypeFor[client.PriceInForce]()},
	{method: "GET", path: "/api/v1/prices/{provider}/{type}/history", id: "priceHistory", summary: "every entry of a price book",
		params: []param{{name: "provider", in: "path"}, {name: "type", in: "path"}}, resp: reflect.TypeFor[model.PriceBook]()},
	{method: "GET", path: "/api/v1/quotas/{provider}/{consumer}", id: "getQuota", summary: "a quota and how much is held",
		params: []param{{name: "provider", in: "path"}, {name: "consumer", in: "path"}}, resp: reflect.TypeFor[model.Quota]()},
	{method: "GET", path: "/api/v1/resources", id: "listResources", summary: "the caller's org's resources",
		params: []param{roleP, {name: "status", in: "query", desc: "requested, active, released, ..."}, pageSize, pageTokenP}, resp: typeResource, page: true},
	{method: "GET", path: "/api/v1/resources/{id}", id: "getResource", summary: "a resource", params: []param{pathID}, resp: typeResource},
	{method: "GET", path: "/api/v1/resources/{id}/usage", id: "listUsage", summary: "a resource's usage records",
		params: []param{pathID, pageSize, pageTokenP}, resp: reflect.TypeFor[model.UsageRecord](), page: true},
	{method: "GET", path: "/api/v1/rules", id: "listRules", summary: "every rule version", params: []param{pageSize, pageTokenP}, resp: reflect.TypeFor[model.Rule](), page: true},
	{method: "GET", path: "/api/v1/rules/{ref}", id: "getRule", summary: "a rule (code hash or NAME@VERSION) with its votes and activations",
		params: []param{{name: "ref", in: "path"}}, resp: reflect.TypeFor[client.RuleStatus]()},
	{method: "GET", path: "/api/v1/members", id: "members", summary: "members, policy, who may upload rules, type catalog", resp: reflect.TypeFor[model.Consortium]()},
	{method: "GET", path: "/api/v1/proposals", id: "listProposals", summary: "consortium proposals, rule approvals and revocations",
		params: []param{{name: "status", in: "query", desc: "open, approved, rejected"}, pageSize, pageTokenP}, resp: reflect.TypeFor[model.Proposal](), page: true},
	{method: "GET", path: "/api/v1/proposals/{id}", id: "getProposal", summary: "a proposal with its votes", params: []param{pathID}, resp: reflect.TypeFor[model.Proposal]()},
	{method: "GET", path: "/api/v1/history/{key}", id: "history", summary: "every version of a ledger entry: consortium, proposal/ID, rule/HASH, activation/TYPE, price/PROVIDER/TYPE, quota/PROVIDER/CONSUMER, resource/ID or bill/ID",
		params: []param{{name: "key", in: "path", desc: "the key; its slashes are part of the path"}}, resp: reflect.TypeFor[[]model.HistoryEntry]()},
	{method: "GET", path: "/api/v1/ledger", id: "ledgerInfo", summary: "the embedded ledger's height, head hash and last transaction time", resp: reflect.TypeFor[LedgerInfo]()},

	{method: "POST", path: "/api/v1/usage", id: "submitUsage", summary: "submit usage records in batches of 500; safe to resend (duplicates change nothing)",
		bodyNote: "usage", status: 200, resp: reflect.TypeFor[client.UsageReport]()},
	{method: "POST", path: "/api/v1/resources", id: "requestResource", summary: "request a resource against the caller's quota",
		body: reflect.TypeFor[ResourceRequestBody](), bodyRequired: true, status: 201, resp: typeResource},
	{method: "POST", path: "/api/v1/resources/{id}/activate", id: "activateResource", summary: "the provider provisioned it: billing starts", params: []param{pathID}, resp: typeResource},
	{method: "POST", path: "/api/v1/resources/{id}/release", id: "releaseResource", summary: "release it; an active one is billed", params: []param{pathID}, resp: reflect.TypeFor[client.Release]()},
	{method: "POST", path: "/api/v1/resources/{id}/bills", id: "closeBill", summary: "bill an active resource's period up to end (the provider)",
		params: []param{pathID}, body: reflect.TypeFor[CloseBillBody](), status: 201, resp: reflect.TypeFor[model.BillSummary]()},
	{method: "POST", path: "/api/v1/rules/{ref}/votes", id: "voteRule", summary: "an org admin's vote on a rule, or on its revocation",
		params: []param{{name: "ref", in: "path"}}, body: reflect.TypeFor[VoteBody](), bodyRequired: true, resp: reflect.TypeFor[RuleVoteResult]()},
	{method: "POST", path: "/api/v1/proposals/{id}/votes", id: "voteProposal", summary: "an org admin's vote on a consortium proposal",
		params: []param{pathID}, body: reflect.TypeFor[VoteBody](), bodyRequired: true, resp: reflect.TypeFor[model.Proposal]()},
	{method: "POST", path: "/api/v1/tx/{fn}", id: "transaction", summary: "one of the contract's transactions as the token's identity, its arguments as is (what fedmeter --server sends); the result is the contract's JSON",
		params: []param{{name: "fn", in: "path", desc: "the transaction's name, e.g. PriceSet"}}, body: reflect.TypeFor[TxBody](), bodyRequired: true, resp: typeRaw},

	// events and webhooks (events.go, webhooks.go)
	{method: "GET", path: "/api/v1/events", id: "events", stream: true, resp: reflect.TypeFor[APIEvent](),
		summary: "server-sent events: the contract's events the caller may read (a consumer its own bills; members governance). Each event: id (BLOCK.INDEX), event (its type), data (an APIEvent). Comments keep the stream alive",
		params: []param{
			{name: "Last-Event-ID", in: "header", desc: "resume after this event ID (what a browser's EventSource sends on reconnecting)"},
			{name: "after", in: "query", desc: "resume after this event ID; start: from the ledger's first event (default: events from now on)"},
			{name: "types", in: "query", desc: "comma-separated event types (bill.issued, rule.voted, ...; bill.* for a family; default all)"}}},
	{method: "GET", path: "/api/v1/webhooks/deliveries", id: "listDeliveries", summary: "webhook deliveries of the caller's org's webhooks, newest first (admins only)",
		params: []param{{name: "status", in: "query", desc: "one status", enum: []string{DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryDropped}},
			{name: "webhook", in: "query", desc: "one webhook's (its ID or a prefix)"},
			{name: "limit", in: "query", desc: "at most this many, 1 to 1000 (default 100)"}},
		resp: reflect.TypeFor[Delivery](), page: true},
}

// schemas derives JSON schemas from Go types, as components.
type schemas struct {
	defs map[string]any
	name map[reflect.Type]string
}

var (
	typeTime = reflect.TypeFor[time.Time]()
	typeRaw  = reflect.TypeFor[json.RawMessage]()
)

func (g *schemas) of(t reflect.Type) map[string]any {
	switch {
	case t == typeTime:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == typeRaw:
		return map[string]any{"nullable": true}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.of(t.Elem()))
	case reflect.Interface:
		return map[string]any{"nullable": true}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.of(t.Elem()), "nullable": true}
	case reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem()), "nullable": true}
	case reflect.Struct:
		return g.ref(t)
	}
	return map[string]any{}
}

func nullable(s map[string]any) map[string]any {
	if _, ok := s["$ref"]; ok {
		return map[string]any{"nullable": true, "allOf": []any{s}}
	}
	c := map[string]any{}
	for k, v := range s {
		c[k] = v
	}
	c["nullable"] = true
	return c
}

// ref is a $ref to the component of struct type t, defining it once.
func (g *schemas) ref(t reflect.Type) map[string]any {
	n, ok := g.name[t]
	if !ok {
		n = t.Name()
		if n == "" || strings.ContainsAny(n, "[]") {
			n = "Anonymous"
		}
		if _, taken := g.defs[n]; taken {
			// Another package's type of the same name: prefix the package.
			pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
			n = strings.ToUpper(pkg[:1]) + pkg[1:] + n
		}
		g.name[t] = n
		props := map[string]any{}
		var req []string
		g.fields(t, props, &req)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(req) > 0 {
			sort.Strings(req)
			s["required"] = req
		}
		g.defs[n] = s
	}
	return map[string]any{"$ref": "#/components/schemas/" + n}
}

func (g *schemas) fields(t reflect.Type, props map[string]any, req *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, req)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
		if !strings.Contains(","+opts+",", ",omitempty,") {
			*req = append(*req, name)
		}
	}
}

var (
	openapiOnce sync.Once
	openapiDoc  []byte
)

// OpenAPI is the OpenAPI 3.0 document of the server's routes.
func OpenAPI() []byte {
	openapiOnce.Do(func() { openapiDoc = buildOpenAPI() })
	return openapiDoc
}

func buildOpenAPI() []byte {
	g := &schemas{defs: map[string]any{}, name: map[reflect.Type]string{}}
	problem := g.ref(reflect.TypeFor[Problem]())
	paths := map[string]any{}
	for _, op := range operations {
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		o := map[string]any{"operationId": op.id, "summary": op.summary}
		var ps []any
		for _, p := range op.params {
			x := map[string]any{"name": p.name, "in": p.in, "schema": map[string]any{"type": "string"}}
			if p.enum != nil {
				x["schema"] = map[string]any{"type": "string", "enum": p.enum}
			}
			if p.in == "path" {
				x["required"] = true
			}
			if p.desc != "" {
				x["description"] = p.desc
			}
			ps = append(ps, x)
		}
		if ps != nil {
			o["parameters"] = ps
		}
		switch {
		case op.body != nil:
			content := map[string]any{"application/json": map[string]any{"schema": g.of(op.body)}}
			if op.wasm {
				content["application/wasm"] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
			}
			o["requestBody"] = map[string]any{"required": op.bodyRequired, "content": content}
		case op.bodyNote == "usage":
			rec := map[string]any{"type": "object", "required": []string{"resource", "metric", "quantity", "start", "end"},
				"properties": map[string]any{"id": map[string]any{"type": "string"}, "resource": map[string]any{"type": "string"},
					"metric": map[string]any{"type": "string"}, "quantity": map[string]any{"type": "integer", "minimum": 0},
					"start": map[string]any{"description": "Unix seconds or RFC 3339"}, "end": map[string]any{"description": "Unix seconds or RFC 3339"}}}
			o["requestBody"] = map[string]any{"required": true, "description": "usage records: a JSON array, JSON lines, or CSV with a header (id optional; derived from resource, metric, start and end)",
				"content": map[string]any{
					"application/json":     map[string]any{"schema": map[string]any{"type": "array", "items": rec}},
					"application/x-ndjson": map[string]any{"schema": map[string]any{"type": "string"}},
					"text/csv":             map[string]any{"schema": map[string]any{"type": "string"}},
				}}
		}
		status := op.status
		if status == 0 {
			status = 200
		}
		var content map[string]any
		switch {
		case op.text:
			content = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		case op.csv:
			content = map[string]any{"text/csv": map[string]any{"schema": map[string]any{"type": "string"}}}
		case op.stream:
			content = map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string",
				"description": "events as `id: BLOCK.INDEX`, `event: TYPE` and `data: ` followed by one line of JSON, an APIEvent (components.schemas.APIEvent); lines starting with a colon are comments (keep-alives)"}}}
			g.of(op.resp) // the event's schema, as a component
		case op.page:
			pg := map[string]any{"type": "object", "required": []string{"items"}, "additionalProperties": false,
				"properties": map[string]any{"items": map[string]any{"type": "array", "items": g.of(op.resp)},
					"next_page_token": map[string]any{"type": "string", "description": "pass as page_token for the next page; absent on the last"}}}
			content = map[string]any{"application/json": map[string]any{"schema": pg}}
		default:
			content = map[string]any{"application/json": map[string]any{"schema": g.of(op.resp)}}
		}
		problemContent := map[string]any{"application/problem+json": map[string]any{"schema": problem}}
		o["responses"] = map[string]any{
			strconv.Itoa(status): map[string]any{"description": "ok", "content": content},
			"default":            map[string]any{"description": "a problem (RFC 9457) with the contract's refusal code and the client's kind", "content": problemContent},
		}
		if op.public {
			o["security"] = []any{}
		}
		item[strings.ToLower(op.method)] = o
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "fedmeter serve", "version": "1",
			"description": "Metering and billing on a ledger: every request acts as the identity of its bearer token (fedmeter serve token create --as ORG/USER). Errors are application/problem+json with the contract's refusal code (code) and the client's kind (kind)."},
		"servers":  []any{map[string]any{"url": "/"}},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []any{}}},
		"components": map[string]any{
			"schemas":         g.defs,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		panic(err)
	}
	return b
}

func (s *Server) openapiHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(OpenAPI())
}
