// Package chaincode is fedmeter's Fabric contract: the consortium and its
// approval policy, billing-rule governance, price books, quotas, resources,
// usage and bills. One contract, named "fedmeter", built on
// fabric-contract-api-go; chaincode/README.md lists its transactions, the key
// layout, who may call what, and the events.
package chaincode

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// ContractName is the name under which the contract is registered; it is also
// the chaincode's default contract, so "fedmeter:RuleVote" and "RuleVote" are
// the same call.
const ContractName = "fedmeter"

// AdminOU is the certificate OU that gives an identity the admin role
// (Fabric NodeOUs).
const AdminOU = "admin"

// Contract is the fedmeter contract. Its exported methods with a
// TransactionContextInterface first parameter are the transactions.
type Contract struct {
	contractapi.Contract
	pricer   Pricer
	observer func(RuleCall)
}

// Option configures a Contract.
type Option func(*Contract)

// WithPricer replaces the engine that runs billing rules (the default runs
// the Wasm rule with package host). Tests and benchmarks use it.
func WithPricer(p Pricer) Option { return func(c *Contract) { c.pricer = p } }

// WithRuleObserver has the contract report every rule call to observe
// (metrics: calls by rule and outcome, gas, time). observe runs on the
// transaction's goroutine after the call and must not block; what it sees
// never reaches the ledger.
func WithRuleObserver(observe func(RuleCall)) Option {
	return func(c *Contract) { c.observer = observe }
}

// New returns the contract.
func New(opts ...Option) *Contract {
	c := &Contract{pricer: WasmPricer()}
	c.Name = ContractName
	c.Info = metadata.InfoMetadata{
		Title:       "fedmeter",
		Description: "Metering and billing for a federation of research clouds, priced by voted WebAssembly rules",
		Version:     "1.0.0",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewChaincode returns the chaincode: the contract router around
// New(opts...), which every refusal leaves with a code (model.Refusal's wire
// form, chaincode/README.md "Refusal codes"), which refuses a call with the
// wrong number of arguments, and which sends the seed prototype's
// positional forms to their mapping (seedForms).
func NewChaincode(opts ...Option) (*Chaincode, error) {
	c := New(opts...)
	cc, err := contractapi.NewChaincode(c)
	if err != nil {
		return nil, err
	}
	cc.Info.Title = "fedmeter"
	cc.Info.Version = "1.0.0"
	return &Chaincode{ContractChaincode: cc, contract: c}, nil
}

// Chaincode is contractapi's router for the contract, with three additions:
//
//   - a call of a transaction with the wrong number of arguments, too many as
//     well as too few, is refused naming the transaction's parameters
//     (model.CodeUnsupported; contractapi drops surplus arguments silently);
//   - a call of a seed name with the prototype's number of arguments goes to
//     that form (seedForms), which the router's reflection cannot express;
//   - a failed response whose message carries no refusal code gets one.
//     Every transaction returns coded refusals (TestEveryRefusalHasACode), so
//     an uncoded message comes from the router itself, which refused the
//     call before any transaction ran (an unknown transaction):
//     model.CodeUnsupported. Should a transaction ever return an uncoded
//     error, it is marked model.CodeInternal (a bug), never left bare.
type Chaincode struct {
	*contractapi.ContractChaincode
	contract *Contract
}

// Init is Invoke (the router's Init invokes too).
func (cc *Chaincode) Init(stub shim.ChaincodeStubInterface) *peer.Response {
	return cc.Invoke(stub)
}

// Invoke is the router's Invoke; a failure's message always carries a code.
func (cc *Chaincode) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	ms := &markedStub{ChaincodeStubInterface: stub}
	return withCode(cc.invoke(ms), ms)
}

func (cc *Chaincode) invoke(ms *markedStub) *peer.Response {
	nsFn, args := ms.GetFunctionAndParameters()
	if fn, ours := splitCall(nsFn); ours {
		if err := checkArgCount(fn, len(args)); err != nil {
			return shim.Error(err.Error())
		}
		name := upperFirst(fn)
		if sf, ok := seedForms[name]; ok && len(args) == len(sf.params) && len(args) != len(signatures[name]) {
			return cc.contract.callSeed(ms, sf, args)
		}
	}
	return cc.ContractChaincode.Invoke(ms)
}

// markedStub is the transaction's stub, marked when a transaction of the
// contract started (begin): what tells the router's own refusals apart.
type markedStub struct {
	shim.ChaincodeStubInterface
	entered bool
}

func withCode(resp *peer.Response, ms *markedStub) *peer.Response {
	if resp == nil || resp.GetStatus() < shim.ERRORTHRESHOLD {
		return resp
	}
	if _, ok := model.DecodeRefusal(resp.GetMessage()); ok {
		return resp
	}
	code := model.CodeUnsupported
	if ms.entered {
		code = model.CodeInternal
	}
	resp.Message = model.Refuse(code, resp.GetMessage()).Error()
	return resp
}

// GetIgnoredFunctions hides the exported helpers from the router.
func (c *Contract) GetIgnoredFunctions() []string { return []string{"Pricer"} }

// Pricer returns the engine that runs billing rules.
func (c *Contract) Pricer() Pricer { return c.pricer }

// GetEvaluateTransactions marks the read-only transactions in the metadata.
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{
		"ConsortiumGet", "ProposalGet", "ProposalList", "TypeList",
		"RuleGet", "RuleList", "RuleStatus", "RuleCode", "RuleHistory", "RuleActivations",
		"PriceGet", "PriceList", "PriceHistory",
		"QuotaGet",
		"ResourceGet", "ResourceList", "UsageList",
		"BillGet", "BillListByProvider", "BillListByConsumer", "BillListByResource", "BillTotals", "BillTotalsMonthly", "BillQuote",
		"History",
		"ReadResource", "QueryProviderBill", "QueryProviderTotalCost",
		"AllocationGet", "AllocationList",
		"StatementGet", "StatementList", "StatementBills",
	}
}

// ---- transaction context ----

// txn is the state of one transaction: the stub, the caller, the time.
type txn struct {
	stub     shim.ChaincodeStubInterface
	ctx      contractapi.TransactionContextInterface
	id       string
	now      int64 // tx timestamp, Unix seconds
	msp      string
	clientID string
	admin    bool
	cons     *Consortium // loaded lazily
	event    bool
	// read holds values read ahead by readAhead, which getJSON serves
	// without asking the peer again: Fabric recorded them in the read set
	// when they were fetched, and a transaction sees the state as of its
	// start (its own writes are not visible to its reads), so the cached
	// value is what GetState would return.
	read map[string][]byte
}

func begin(ctx contractapi.TransactionContextInterface) (*txn, error) {
	stub := ctx.GetStub()
	if ms, ok := stub.(*markedStub); ok {
		ms.entered = true
	}
	if stub == nil {
		return nil, ledgerf("the transaction has no stub")
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil || ts == nil {
		return nil, ledgerf("the transaction timestamp could not be read")
	}
	t := &txn{stub: stub, ctx: ctx, id: stub.GetTxID(), now: ts.GetSeconds()}
	ci := ctx.GetClientIdentity()
	if ci == nil {
		return nil, ledgerf("the client identity could not be read from the transaction")
	}
	if t.msp, err = ci.GetMSPID(); err != nil || t.msp == "" {
		return nil, ledgerf("the client's MSP ID could not be read from the transaction")
	}
	if id, err := ci.GetID(); err == nil {
		if raw, err := base64.StdEncoding.DecodeString(id); err == nil {
			t.clientID = string(raw)
		} else {
			t.clientID = id
		}
	}
	if cert, err := ci.GetX509Certificate(); err == nil && cert != nil {
		for _, ou := range cert.Subject.OrganizationalUnit {
			if strings.EqualFold(ou, AdminOU) {
				t.admin = true
			}
		}
	}
	return t, nil
}

func (t *txn) actor() Actor { return Actor{MSP: t.msp, ID: t.clientID} }
func (t *txn) stamp() Stamp { return Stamp{Tx: t.id, Time: t.now} }

func (t *txn) role() string {
	if t.admin {
		return "an admin of " + t.msp
	}
	return "a client of " + t.msp
}

// ---- state ----

func (t *txn) getJSON(k string, v any) (bool, error) {
	b, err := t.get(k)
	if err != nil {
		return false, err
	}
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, corrupt(k, err)
	}
	return true, nil
}

// get reads a key's stored bytes (nil: absent), from what readAhead read
// if it read the key.
func (t *txn) get(k string) ([]byte, error) {
	if b, ok := t.read[k]; ok {
		return b, nil
	}
	b, err := t.stub.GetState(k)
	if err != nil {
		return nil, ledgerf("reading %s failed: %v", k, err)
	}
	return b, nil
}

func (t *txn) putJSON(k string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return internalf("encoding %s failed: %v", k, err)
	}
	return t.put(k, b)
}

func (t *txn) put(k string, b []byte) error {
	if err := t.stub.PutState(k, b); err != nil {
		return ledgerf("writing %s failed: %v", k, err)
	}
	return nil
}

// prefetch reads keys in one round trip to the peer (GetMultipleStates)
// instead of one each; the reads are recorded as GetState's are. Missing
// keys map to nil.
func (t *txn) prefetch(keys []string) (map[string][]byte, error) {
	m := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return m, nil
	}
	vals, err := t.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, ledgerf("reading %s and %d more keys failed: %v", keys[0], len(keys)-1, err)
	}
	if len(vals) != len(keys) {
		return nil, ledgerf("reading %d keys returned %d values", len(keys), len(vals))
	}
	for i, k := range keys {
		m[k] = vals[i]
	}
	return m, nil
}

// readAhead fetches keys in one round trip (prefetch) for later getJSON
// calls of this transaction. A transaction that knows which keys its next
// steps read asks for them together: on Fabric each GetState is a message
// to the peer and back, on both sides of every endorsement.
func (t *txn) readAhead(keys ...string) error {
	m, err := t.prefetch(keys)
	if err != nil {
		return err
	}
	if t.read == nil {
		t.read = m
		return nil
	}
	for k, v := range m {
		t.read[k] = v
	}
	return nil
}

// decodeStored decodes a stored value read by prefetch, as getJSON does.
func decodeStored(k string, b []byte, v any) (bool, error) {
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, corrupt(k, err)
	}
	return true, nil
}

// batchWrites makes the transaction's writes travel to the peer together
// when flushWrites is called (the shim's write batch: one message instead of
// one round trip per write; peers that do not support it get them one by
// one as before). A transaction that batches must flush before it returns
// success; one that fails writes nothing anyway.
func (t *txn) batchWrites() { t.stub.StartWriteBatch() }

func (t *txn) flushWrites() error {
	if err := t.stub.FinishWriteBatch(); err != nil {
		return ledgerf("writing the transaction's changes failed: %v", err)
	}
	return nil
}

func (t *txn) exists(k string) (bool, error) {
	b, err := t.stub.GetState(k)
	if err != nil {
		return false, ledgerf("reading %s failed: %v", k, err)
	}
	return b != nil, nil
}

// setEvent emits the transaction's one event (Fabric keeps one per tx),
// one of EventNames.
func (t *txn) setEvent(name string, payload any) error {
	if t.event {
		return internalf("internal error: a second event %s in one transaction", name)
	}
	if !slices.Contains(EventNames, name) {
		return internalf("internal error: event %s is not in EventNames", name)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	t.event = true
	return t.stub.SetEvent(name, b)
}

// ---- consortium and access ----

func (t *txn) consortium() (*Consortium, error) {
	if t.cons != nil {
		return t.cons, nil
	}
	var c Consortium
	ok, err := t.getJSON(keyConsortium, &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("the consortium is not initialized yet; an admin of a founding org calls ConsortiumInit first")
	}
	if !knownLayout(c.Layout) {
		return nil, &model.Refusal{Code: model.CodeLedger, Err: ErrLedgerLayout, Msg: fmt.Sprintf("%v: this ledger is in key layout %d and this contract reads layout %d; it was made by another version of fedmeter, whose keys this one would not find (chaincode/README.md, \"Key layout\")", ErrLedgerLayout, c.Layout, LedgerLayout)}
	}
	if c.UploadAccess == "" {
		// Made before the upload setting existed: the default. (Written
		// back as such by the next consortium change, the same on every
		// peer.)
		c.UploadAccess = UploadAdmins
	}
	t.cons = &c
	return t.cons, nil
}

// member requires the caller's org to be a member.
func (t *txn) member(action string) (*Consortium, error) {
	c, err := t.consortium()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.Members, t.msp) {
		return nil, refusef(model.CodeNotMember, "only member orgs may %s; %s is not a member of the consortium", action, t.msp)
	}
	return c, nil
}

// memberAdmin requires the caller to be an admin of a member org.
func (t *txn) memberAdmin(action string) (*Consortium, error) {
	c, err := t.member(action)
	if err != nil {
		return nil, err
	}
	if !t.admin {
		return nil, denied("only admins of member orgs may %s; the caller is %s without the %q OU", action, t.role(), AdminOU)
	}
	return c, nil
}

// mayUpload requires the caller to be allowed to upload rules by the
// consortium's upload setting (c is the consortium member returned).
func (t *txn) mayUpload(c *Consortium) error {
	if c.UploadAccess == UploadMembers || t.admin {
		return nil
	}
	return denied("only admins of member orgs may upload rules while the consortium's upload setting is %s; the caller is %s without the %q OU; an admin uploads it, or the members' admins let any member identity upload by a vote (ConsortiumPropose upload.set members)", c.UploadAccess, t.role(), AdminOU)
}

// party requires the caller's org to be one of the two orgs involved.
func (t *txn) party(what, provider, consumer string) error {
	if t.msp != provider && t.msp != consumer {
		return denied("only %s (provider) and %s (consumer) may read %s; the caller is %s", provider, consumer, what, t.role())
	}
	return nil
}

func typeDef(c *Consortium, name string) *TypeDef {
	for i := range c.Types {
		if c.Types[i].Name == name {
			return &c.Types[i]
		}
	}
	return nil
}

func knownType(c *Consortium, field, name string) (*TypeDef, error) {
	if err := checkTypeName(field, name); err != nil {
		return nil, err
	}
	td := typeDef(c, name)
	if td == nil {
		return nil, errf("%s %q is not a resource type of the consortium catalog (known: %s)", field, name, strings.Join(typeNames(c), ", "))
	}
	return td, nil
}

func typeNames(c *Consortium) []string {
	names := make([]string, len(c.Types))
	for i, td := range c.Types {
		names[i] = td.Name
	}
	return names
}

// ---- output ----

func out(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
