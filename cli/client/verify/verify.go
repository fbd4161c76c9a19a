// Package verify recomputes a fedmeter bill offline, as either of its two
// orgs can: it reads what the bill was computed from through any
// client.Backend, runs the bill's rule locally in the rule engine (host),
// and compares. It is a package of its own because it links the engine
// (wazero) and the contract's bill-line conversion: an app that only submits
// usage and reads bills imports package client alone.
//
//	v, err := verify.Bill(ctx, client.New(b), "ecs-1:000001", verify.Options{})
//	if err != nil { ... } // the bill cannot be read
//	if !v.OK { ... }      // v.Checks says what differs; v.Err() is a client.KindMismatch *client.Error
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/fedmeter/fedmeter/host"
	ledger "github.com/fedmeter/fedmeter/network/embedded"
)

// Check is one comparison of an offline verification.
type Check struct {
	Name       string `json:"name"`
	OK         bool   `json:"ok"`
	Ledger     string `json:"ledger"`
	Recomputed string `json:"recomputed"`
}

// Verification is the outcome of Bill.
type Verification struct {
	Bill *chaincode.Bill `json:"bill"`
	// OK is true when every check passed.
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
	// Input is the rule input rebuilt from ledger data.
	Input json.RawMessage `json:"input"`
	// Result is what the rule computed offline (nil if it failed).
	Amount  int64                `json:"amount"`
	Lines   []chaincode.BillLine `json:"lines"`
	GasUsed uint64               `json:"gas_used"`
	// RuleError is the rule's failure offline, if any.
	RuleError string `json:"rule_error,omitempty"`
	// Head is the embedded ledger's head hash that the ledger data read
	// was checked against (empty on Fabric, whose peers validate blocks).
	Head string `json:"head,omitempty"`
}

// Options configures Bill.
type Options struct {
	// Head, 64 hex digits, pins the embedded ledger's head hash: the ledger
	// data read must chain to exactly this head (the ledger's Verify and
	// Height give it; fedmeter ledger verify and ledger info print it; keep
	// a copy elsewhere). Embedded ledger only.
	Head string
}

// Err returns nil when v.OK, else a client.KindMismatch *client.Error (Op
// "VerifyBill") naming what differs.
func (v *Verification) Err() error {
	if v.OK {
		return nil
	}
	var bad []string
	for _, c := range v.Checks {
		if !c.OK {
			bad = append(bad, c.Name)
		}
	}
	if len(bad) == 1 && bad[0] == "ledger data" {
		c := v.Checks[len(v.Checks)-1]
		e := client.Errorf(client.KindMismatch, "bill %s recomputes, but the ledger data it read is not backed by the ledger's blocks: %s", v.Bill.ID, c.Recomputed).
			WithHint("the ledger was altered on disk, or the head is not the one pinned; verifying the ledger (fedmeter ledger verify) names the first altered block or record")
		e.Op = "VerifyBill"
		return e
	}
	e := client.Errorf(client.KindMismatch, "bill %s does not match its offline recomputation: %s differ", v.Bill.ID, strings.Join(bad, ", ")).
		WithHint("the ledger and the rule's code disagree; compare the rebuilt input (Verification.Input) with what the contract used, and report it to the members")
	e.Op = "VerifyBill"
	return e
}

// Bill recomputes bill billID offline through c, as any of its two orgs can: it
// reads the bill, the rule's code (checking its SHA-256), the resource, the
// price entry in force at the period start, the quota limits and the usage
// records whose end falls in the period; rebuilds the rule input (host/ABI.md)
// as the contract does (chaincode/README.md, "Resources, usage and
// billing"); prepares and runs the rule locally with package host; and
// compares the prepared hash, the input hash, the amount, currency, scale,
// lines and gas with the bill. An adjustment bill (re-rating) is rebuilt
// with the price entry in force when it was issued, and its amount and lines
// are the rerun's less what the bill it adjusts and that bill's earlier
// adjustments came to (chaincode.AdjustmentLines). A mismatch is reported in the Verification
// (OK false), not as an error; errors are for bills that cannot be read.
//
// On the embedded ledger it also checks the ledger data it relied on: every
// state entry the queries read must be what the block that last wrote it
// wrote, and those blocks must chain, hash by hash, to the ledger's head
// (check "ledger data"; network/embedded's Prove). So a value or a block
// altered on disk is a mismatch, not a silent recomputation from the
// altered data.
//
// On another Backend than those of package embedded (Fabric's), the peers
// validate the blocks, and a pinned head is refused.
func Bill(ctx context.Context, c *client.Client, billID string, o Options) (*Verification, error) {
	var pin *[32]byte
	if o.Head != "" {
		h, err := hex.DecodeString(o.Head)
		if err != nil || len(h) != 32 {
			e := client.Errorf(client.KindInvalid, "the head %q is not a head hash: it must be 64 hex digits", quoteShort(o.Head)).
				WithHint("the ledger's Height gives the head hash (fedmeter ledger info prints it)")
			e.Op = "VerifyBill"
			return nil, e
		}
		pin = new([32]byte)
		copy(pin[:], h)
	}
	e, embeddedLedger := c.Backend().(*embedded.Backend)
	if pin != nil && !embeddedLedger {
		err := client.Errorf(client.KindInvalid, "a pinned head applies to the embedded ledger only; on Fabric the peers validate the blocks")
		err.Op = "VerifyBill"
		return nil, err
	}
	if !embeddedLedger {
		return verifyBill(ctx, c, billID)
	}
	rs := ledger.NewReadSet()
	v, err := verifyBill(ctx, client.New(e.Tracing(rs)), billID)
	if err != nil {
		return nil, err
	}
	p, perr := e.Prove(rs, pin)
	what := fmt.Sprintf("%d entries read", rs.Len())
	if perr != nil {
		var pe *ledger.ProofError
		if !errors.As(perr, &pe) {
			return nil, client.Errorf(client.KindLedger, "the ledger data of bill %s cannot be checked: %v", billID, errText(perr))
		}
		v.Checks = append(v.Checks, Check{Name: "ledger data", OK: false, Ledger: what, Recomputed: pe.Error()})
		v.OK = false
		return v, nil
	}
	v.Head = hex.EncodeToString(p.Head[:])
	chain := fmt.Sprintf("blocks %d to %d chain to the head", p.From, p.Height-1)
	if pin != nil {
		chain += " (the pinned one)"
	}
	v.Checks = append(v.Checks, Check{Name: "ledger data", OK: true, Ledger: what, Recomputed: chain})
	return v, nil
}

// quoteShort is s, cut to 80 bytes for an error message.
func quoteShort(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func verifyBill(ctx context.Context, c *client.Client, billID string) (*Verification, error) {
	b, err := c.Bill(ctx, billID)
	if err != nil {
		return nil, err
	}
	v := &Verification{Bill: b, OK: true}
	check := func(name string, ok bool, ledger, recomputed string) {
		v.Checks = append(v.Checks, Check{Name: name, OK: ok, Ledger: ledger, Recomputed: recomputed})
		v.OK = v.OK && ok
	}

	if b.Kind == model.BillKindCredit {
		// A credit note is not a rule's output: there is nothing to
		// rerun, and what can be checked is that it credits a bill of
		// its own pair at most what that bill charged.
		return v, verifyCredit(ctx, c, b, check)
	}
	code, hash, err := c.RuleCode(ctx, b.Rule.Hash)
	if err != nil {
		return nil, err
	}
	check("code hash", hash == b.Rule.Hash, b.Rule.Hash, hash)

	in, err := rebuildInput(ctx, c, b)
	if err != nil {
		return nil, err
	}
	v.Input = in
	sum := sha256.Sum256(in)
	inHash := hex.EncodeToString(sum[:])
	check("input hash", inHash == b.InputHash, b.InputHash, inHash)

	p, err := host.Prepare(code)
	if err != nil {
		check("prepared hash", false, b.Rule.PreparedHash, "preparation failed: "+errText(err))
		return v, nil
	}
	prepared := hex.EncodeToString(p.Hash[:])
	check("prepared hash", prepared == b.Rule.PreparedHash && p.Profile == b.Rule.Profile,
		b.Rule.PreparedHash+" ("+b.Rule.Profile+")", prepared+" ("+p.Profile+")")

	// The contract gives rules the transaction time in whole seconds,
	// which the bill records, so this is exact on every backend.
	call := host.Call{Input: in, GasLimit: model.BillGasLimit, TxTime: time.Unix(b.IssuedAt, 0).UTC(), TxID: b.Tx}
	res, err := runRule(ctx, p, call)
	if err != nil {
		v.RuleError = errText(err)
		check("rule runs", false, "billed "+money(b.Amount, b.Scale, b.Currency), "failed: "+v.RuleError)
		return v, nil
	}
	v.Amount, v.GasUsed = res.Bill.Total, res.GasUsed
	v.Lines = chaincode.BillLines(res.Bill)
	if b.Kind == model.BillKindAdjustment {
		// An adjustment is the recomputation less what the bill it
		// adjusts and that bill's earlier adjustments came to.
		prior, err := adjustedPrior(ctx, c, b)
		if err != nil {
			return nil, err
		}
		v.Lines = chaincode.AdjustmentLines(res.Bill, prior)
		v.Amount = res.Bill.Total - prior
		check("amount", v.Amount == b.Amount, money(b.Amount, b.Scale, b.Currency),
			fmt.Sprintf("%s (rerated %s less %s billed before)", money(v.Amount, res.Bill.Scale, res.Bill.Currency),
				money(res.Bill.Total, res.Bill.Scale, res.Bill.Currency), money(prior, res.Bill.Scale, res.Bill.Currency)))
	} else {
		check("amount", res.Bill.Total == b.Amount, money(b.Amount, b.Scale, b.Currency), money(res.Bill.Total, res.Bill.Scale, res.Bill.Currency))
	}
	check("currency and scale", res.Bill.Currency == b.Currency && res.Bill.Scale == b.Scale,
		fmt.Sprintf("%s, scale %d", b.Currency, b.Scale), fmt.Sprintf("%s, scale %d", res.Bill.Currency, res.Bill.Scale))
	wantLines, _ := json.Marshal(b.Lines)
	gotLines, _ := json.Marshal(v.Lines)
	check("lines", string(wantLines) == string(gotLines), fmt.Sprintf("%d lines", len(b.Lines)), linesDiff(b.Lines, v.Lines))
	check("gas used", res.GasUsed == b.GasUsed, fmt.Sprint(b.GasUsed), fmt.Sprint(res.GasUsed))
	return v, nil
}

func linesDiff(want, got []chaincode.BillLine) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d lines", len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Sprintf("line %d (%s) differs: %+v", i+1, got[i].Item, got[i])
		}
	}
	return fmt.Sprintf("%d lines", len(got))
}

func runRule(ctx context.Context, p *host.Prepared, call host.Call) (*host.Result, error) {
	h, err := host.New(ctx, host.Config{})
	if err != nil {
		return nil, err
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, p)
	if err != nil {
		return nil, err
	}
	return m.Bill(ctx, call)
}

// Input rebuilds the rule input of bill b from ledger data read through c,
// as Bill does (and as the contract built it), and says whether its
// SHA-256 is the bill's input hash. A backtest runs another rule on it
// (fedmeter rule backtest).
func Input(ctx context.Context, c *client.Client, b *model.Bill) (input []byte, matches bool, err error) {
	in, err := rebuildInput(ctx, c, b)
	if err != nil {
		return nil, false, err
	}
	sum := sha256.Sum256(in)
	return in, hex.EncodeToString(sum[:]) == b.InputHash, nil
}

// rebuildInput rebuilds a bill's rule input from ledger queries.
func rebuildInput(ctx context.Context, c *client.Client, b *model.Bill) ([]byte, error) {
	r, err := c.Resource(ctx, b.Resource)
	if err != nil {
		return nil, err
	}
	// A bill is priced at its period start; an adjustment (re-rating) at
	// the prices in force when it was issued.
	priceAt := b.Period.Start
	if b.Kind == model.BillKindAdjustment {
		priceAt = b.IssuedAt
	}
	price, err := c.Price(ctx, b.Provider, b.ResourceType, fmt.Sprint(priceAt))
	if err != nil {
		return nil, err
	}
	recs, err := c.Usage(ctx, b.Resource)
	if err != nil {
		return nil, err
	}
	usage, err := model.BilledUsage(b, recs)
	if err != nil {
		return nil, client.Errorf(client.KindMismatch, "the usage of bill %s cannot be summed as the contract sums it: %s", b.ID, msgOf(err))
	}
	// The quota limits are those the bill read. A bill records the
	// transaction that set them (QuotaTx): that version of the quota is
	// read from the key's history. A bill issued before bills recorded it
	// has none, and then every version the ledger kept is a candidate; the
	// one that reproduces the bill's input hash is the one the contract
	// read. Without a match, the first candidate is used and the input hash
	// check fails.
	var cands []map[string]int64
	seen := map[string]bool{}
	add := func(l map[string]int64) {
		if l == nil {
			l = map[string]int64{}
		}
		k, _ := json.Marshal(l)
		if !seen[string(k)] {
			seen[string(k)] = true
			cands = append(cands, l)
		}
	}
	hist, herr := c.History(ctx, "quota/"+b.Provider+"/"+b.Consumer)
	if b.QuotaTx != "" {
		if herr != nil {
			return nil, herr
		}
		for _, h := range hist {
			var q chaincode.Quota
			if !h.IsDelete && json.Unmarshal(h.Value, &q) == nil && q.Updated.Tx == b.QuotaTx {
				add(q.Limits)
				break
			}
		}
		if len(cands) == 0 {
			return nil, client.Errorf(client.KindMismatch, "bill %s read the quota set in transaction %s, which the history of quota/%s/%s does not hold", b.ID, b.QuotaTx, b.Provider, b.Consumer)
		}
	} else {
		if herr == nil {
			for _, h := range hist {
				var q chaincode.Quota
				if !h.IsDelete && json.Unmarshal(h.Value, &q) == nil {
					add(q.Limits)
				}
			}
		}
		if q, err := c.Quota(ctx, b.Provider, b.Consumer); err == nil {
			add(q.Limits)
		}
		add(nil)
	}
	var first []byte
	for _, l := range cands {
		enc, err := model.EncodeInput(r, &price.Entry, l, usage, b.Period.Start, b.Period.End, b.Tx, b.IssuedAt)
		if err != nil {
			return nil, client.Errorf(client.KindInternal, "the rule input of bill %s cannot be encoded: %v", b.ID, err)
		}
		if first == nil {
			first = enc
		}
		sum := sha256.Sum256(enc)
		if hex.EncodeToString(sum[:]) == b.InputHash {
			return enc, nil
		}
	}
	return first, nil
}

// adjustedPrior is what the bill that adjustment b adjusts came to before
// b: its amount and the amounts of its adjustments issued before b (a
// resource's bills are numbered in issue order). It checks that b adjusts
// a bill of its own resource and period.
func adjustedPrior(ctx context.Context, c *client.Client, b *model.Bill) (int64, error) {
	orig, err := c.Bill(ctx, b.Adjusts)
	if err != nil {
		return 0, err
	}
	if orig.Resource != b.Resource || orig.Period != b.Period {
		return 0, client.Errorf(client.KindMismatch, "adjustment %s adjusts bill %s, which is of resource %s for %d to %d, not of its own resource and period", b.ID, orig.ID, orig.Resource, orig.Period.Start, orig.Period.End)
	}
	bills, err := c.Bills(ctx, client.BillFilter{Resource: b.Resource})
	if err != nil {
		return 0, err
	}
	prior := orig.Amount
	for _, x := range bills {
		if x.Kind == model.BillKindAdjustment && x.Adjusts == orig.ID && x.ID < b.ID {
			prior += x.Amount
		}
	}
	return prior, nil
}

// verifyCredit checks credit note b against the bill it credits: the same
// provider, consumer, resource, currency and scale; a negative amount that
// its one line carries; and, with the corrections of that bill issued
// before b (credits and adjustments; a resource's bills are numbered in
// issue order), a credit no larger than what the bill came to.
func verifyCredit(ctx context.Context, c *client.Client, b *model.Bill, check func(name string, ok bool, ledger, recomputed string)) error {
	orig, err := c.Bill(ctx, b.Adjusts)
	if err != nil {
		return err
	}
	check("credits a bill of its pair", orig.Provider == b.Provider && orig.Consumer == b.Consumer && orig.Resource == b.Resource &&
		(orig.Kind == model.BillKindRelease || orig.Kind == model.BillKindPeriod),
		fmt.Sprintf("%s to %s, resource %s", b.Provider, b.Consumer, b.Resource),
		fmt.Sprintf("bill %s (%s): %s to %s, resource %s", orig.ID, orig.Kind, orig.Provider, orig.Consumer, orig.Resource))
	check("currency and scale", orig.Currency == b.Currency && orig.Scale == b.Scale,
		fmt.Sprintf("%s, scale %d", b.Currency, b.Scale), fmt.Sprintf("%s, scale %d (bill %s)", orig.Currency, orig.Scale, orig.ID))
	var sum int64
	for _, l := range b.Lines {
		sum += l.Amount
	}
	check("lines", b.Amount < 0 && len(b.Lines) == 1 && sum == b.Amount,
		fmt.Sprintf("%d lines of %s", len(b.Lines), money(sum, b.Scale, b.Currency)), "one line of the credit, "+money(b.Amount, b.Scale, b.Currency))
	bills, err := c.Bills(ctx, client.BillFilter{Resource: b.Resource})
	if err != nil {
		return err
	}
	net := orig.Amount
	for _, x := range bills {
		if x.Adjusts == orig.ID && x.ID < b.ID {
			net += x.Amount
		}
	}
	check("amount", b.Amount < 0 && -b.Amount <= net, "credits "+money(-b.Amount, b.Scale, b.Currency),
		fmt.Sprintf("bill %s came to %s with its earlier corrections", orig.ID, money(net, b.Scale, b.Currency)))
	return nil
}

// money formats minor units with their scale: 4904, 2, CNY -> "49.04 CNY".
func money(amount int64, scale int, currency string) string {
	return client.FormatMoney(amount, scale) + " " + currency
}

// errText is an underlying error's text for use inside one of our
// sentences: its first line, without a trailing period.
func errText(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}

// msgOf is err's sentence: a *client.Error's Msg, a contract refusal's
// message without its code, else err.Error().
func msgOf(err error) string {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Msg
	}
	var r *model.Refusal
	if errors.As(err, &r) {
		return r.Msg
	}
	return err.Error()
}
