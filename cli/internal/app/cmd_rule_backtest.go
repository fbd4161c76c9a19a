package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/verify"
	"github.com/fedmeter/fedmeter/host"
	"github.com/urfave/cli/v2"
)

// rule backtest: the bills of a type re-billed under a candidate rule,
// client-side, nothing written.

// backtestBill is one bill re-billed under the candidate.
type backtestBill struct {
	Bill         string           `json:"bill"`
	Resource     string           `json:"resource"`
	Role         string           `json:"role"` // the caller's side: provider or consumer
	Counterparty string           `json:"counterparty"`
	Period       chaincode.Period `json:"period"`
	BilledBy     string           `json:"billed_by"` // NAME@VERSION of the rule that issued it
	Currency     string           `json:"currency"`
	Scale        int              `json:"scale"`
	Old          int64            `json:"old"`
	// New and Diff are absent when the candidate failed on the bill.
	New       *int64               `json:"new,omitempty"`
	Diff      *int64               `json:"diff,omitempty"`
	OldGas    uint64               `json:"old_gas"`
	NewGas    uint64               `json:"new_gas"`
	NewLines  []chaincode.BillLine `json:"new_lines,omitempty"`
	Error     string               `json:"error,omitempty"`
	ErrorKind string               `json:"error_kind,omitempty"` // rule, out_of_gas, trap, stack, memory, bad_output, currency, input, host
	// InputMatches is false when the input rebuilt from ledger data does
	// not hash to the bill's input hash (the candidate then ran on another
	// input than the ledger's rule did; bill verify says more).
	InputMatches bool `json:"input_matches"`
}

// backtestTotal sums the bills of one counterparty in one currency.
type backtestTotal struct {
	Role         string `json:"role"`
	Counterparty string `json:"counterparty"`
	Currency     string `json:"currency"`
	Scale        int    `json:"scale"`
	Bills        int    `json:"bills"`
	Changed      int    `json:"changed"`
	Failed       int    `json:"failed"`
	Old          int64  `json:"old"`
	// New counts a failed bill as 0: on the ledger it would be pending.
	New      int64 `json:"new"`
	Diff     int64 `json:"diff"`
	Overflow bool  `json:"overflow,omitempty"` // a sum left int64; the sums are not meaningful
}

type backtestCandidate struct {
	Ref          string   `json:"ref"`
	Rule         string   `json:"rule,omitempty"` // NAME@VERSION when REF names an uploaded rule
	Status       string   `json:"status,omitempty"`
	Types        []string `json:"types,omitempty"`
	Hash         string   `json:"sha256"`
	PreparedHash string   `json:"prepared_hash"`
	Profile      string   `json:"profile"`
	GasLimit     uint64   `json:"gas_limit"`
}

type backtestReport struct {
	Candidate backtestCandidate `json:"candidate"`
	Type      string            `json:"type"`
	From      int64             `json:"from,omitempty"`
	To        int64             `json:"to,omitempty"`
	Bills     []backtestBill    `json:"bills"`
	Totals    []backtestTotal   `json:"totals"`
	Changed   int               `json:"changed"`
	Unchanged int               `json:"unchanged"`
	Failed    int               `json:"failed"`
}

func ruleBacktest(st *state) *cli.Command {
	return &cli.Command{
		Name:      "backtest",
		Usage:     "re-bill past bills of a type under a candidate rule, writing nothing, and show what would change",
		UsageText: "fedmeter rule backtest MODULE.wasm|DIR|REF --type TYPE [--from TIME] [--to TIME] [--json]",
		Description: `Answers a voter's question before the vote: what would this rule have billed?
Every bill of --type whose period ends in [--from, --to) that the caller's org
can read (as provider or consumer) is re-billed under the candidate, here, in
the Wasm host: its rule input is rebuilt from ledger data as fedmeter bill
verify rebuilds it, the candidate is prepared as the ledger prepares an upload
and called with the contract's gas limit (` + fmt.Sprint(chaincode.BillGasLimit) + `), the bill's transaction ID
and time. Nothing is submitted: the ledger is only read.

The candidate is a module file, a rule directory (built first, as rule build
does), or an uploaded rule: its code hash or NAME@VERSION (a proposed rule
too: that is what the vote is on).

Prints old, new and difference per bill, then per counterparty and currency.
A bill the candidate fails on (it refuses the input, traps, runs out of gas,
returns bad output, or bills in another currency or scale than the price
book, which the ledger refuses) is listed with the reason; in the sums it
counts as 0 (on the ledger its bill would be pending). TIME is RFC 3339 or
Unix seconds; either bound may be left out.

Exit 0 when the backtest ran, whatever it found (--json: "changed" and
"failed" count the bills); 4 when the candidate does not prepare.

Examples:
  fedmeter --as Org2/Admin rule backtest ecs@1.1.0 --type ecs --from 2026-01-01T00:00:00Z --to 2026-02-01T00:00:00Z
  fedmeter rule backtest rules/ecs --type ecs --json`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Usage: "resource `TYPE` whose bills are re-billed (required)", Required: true},
			&cli.StringFlag{Name: "from", Usage: "only bills whose period ends at or after `TIME`"},
			&cli.StringFlag{Name: "to", Usage: "only bills whose period ends before `TIME`"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON document (same as --output json)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("json") {
				st.jsonOn = true
			}
			a, err := args(c, 1, 1, "MODULE.wasm|DIR|REF")
			if err != nil {
				return err
			}
			from, err := timeFlag(c, "from")
			if err != nil {
				return err
			}
			to, err := timeFlag(c, "to")
			if err != nil {
				return err
			}
			if !from.IsZero() && !to.IsZero() && !from.Before(to) {
				return usageErr(c, "--from must be before --to")
			}
			typ := c.String("type")
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				if c.Bool("json") {
					p = &printer{w: p.w, json: true}
				}
				cand, code, err := backtestCode(c, cl, a[0])
				if err != nil {
					return err
				}
				prep, err := host.Prepare(code)
				if err != nil {
					return client.Errorf(client.KindRule, "the candidate does not prepare: %v", err).
						WithHint("host/ABI.md lists what a module may import and contain; the ledger would refuse its upload")
				}
				cand.PreparedHash = fmt.Sprintf("%x", prep.Hash)
				cand.Profile = prep.Profile
				cand.GasLimit = chaincode.BillGasLimit
				rep, err := backtest(c.Context, cl, prep, typ, from, to)
				if err != nil {
					return err
				}
				rep.Candidate = *cand
				if !from.IsZero() {
					rep.From = from.Unix()
				}
				if !to.IsZero() {
					rep.To = to.Unix()
				}
				if p.json {
					return p.JSON(rep)
				}
				printBacktest(p, rep, cl.MSPID())
				return nil
			})
		},
	}
}

var reRuleRef = regexp.MustCompile(`^([0-9a-f]{64}|[^/@\s]+@[^/@\s]+)$`)

// backtestCode reads the candidate: a file or directory, else an uploaded
// rule's hash or NAME@VERSION.
func backtestCode(c *cli.Context, cl *client.Client, ref string) (*backtestCandidate, []byte, error) {
	cand := &backtestCandidate{Ref: ref}
	if _, err := os.Stat(ref); err == nil || !reRuleRef.MatchString(ref) {
		code, _, err := moduleArg(c, ref)
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && ce.Kind == client.KindInvalid && strings.Contains(ce.Msg, "cannot be read") {
				ce.Hint = "give a .wasm module, a rule directory, or an uploaded rule's code hash or NAME@VERSION"
			}
			return nil, nil, err
		}
		cand.Hash = fmt.Sprintf("%x", sha256.Sum256(code))
		return cand, code, nil
	}
	r, err := cl.Rule(c.Context, ref)
	if err != nil {
		return nil, nil, err
	}
	code, hash, err := cl.RuleCode(c.Context, r.Hash)
	if err != nil {
		return nil, nil, err
	}
	cand.Rule, cand.Status, cand.Types, cand.Hash = r.Name+"@"+r.Version, r.Status, r.ResourceTypes, hash
	return cand, code, nil
}

// backtest re-bills the caller's bills of type typ whose period ends in
// [from, to) under prep.
func backtest(ctx context.Context, cl *client.Client, prep *host.Prepared, typ string, from, to time.Time) (*backtestReport, error) {
	all, err := cl.Bills(ctx, client.BillFilter{From: from, To: to})
	if err != nil {
		return nil, err
	}
	h, err := host.New(ctx, host.Config{})
	if err != nil {
		return nil, client.Errorf(client.KindRule, "the Wasm host could not start: %v", err)
	}
	defer h.Close(context.Background())
	m, err := h.Load(ctx, prep)
	if err != nil {
		return nil, client.Errorf(client.KindRule, "the candidate does not load: %v", err)
	}
	org := cl.MSPID()
	rep := &backtestReport{Type: typ, Bills: []backtestBill{}, Totals: []backtestTotal{}}
	seen := map[string]bool{}
	for i := range all {
		b := &all[i]
		if b.ResourceType != typ || seen[b.ID] {
			continue
		}
		seen[b.ID] = true
		r := backtestBill{Bill: b.ID, Resource: b.Resource, Role: "provider", Counterparty: b.Consumer, Period: b.Period,
			BilledBy: b.Rule.Name + "@" + b.Rule.Version, Currency: b.Currency, Scale: b.Scale, Old: b.Amount, OldGas: b.GasUsed}
		if b.Provider != org {
			r.Role, r.Counterparty = "consumer", b.Provider
		}
		rebill(ctx, cl, m, b, &r)
		switch {
		case r.New == nil:
			rep.Failed++
		case *r.Diff != 0:
			rep.Changed++
		default:
			rep.Unchanged++
		}
		rep.Bills = append(rep.Bills, r)
	}
	rep.Totals = backtestTotals(rep.Bills)
	return rep, nil
}

// rebill runs the candidate on bill b's rebuilt input, as the contract
// would have (chaincode/billing.go runRule), into r.
func rebill(ctx context.Context, cl *client.Client, m *host.Module, b *chaincode.Bill, r *backtestBill) {
	in, matches, err := verify.Input(ctx, cl, b)
	if err != nil {
		r.Error, r.ErrorKind = "its rule input cannot be rebuilt: "+firstSentence(err), "input"
		return
	}
	r.InputMatches = matches
	call := host.Call{Input: in, GasLimit: chaincode.BillGasLimit, TxTime: time.Unix(b.IssuedAt, 0).UTC(), TxID: b.Tx}
	res, err := m.Bill(ctx, call)
	if res != nil {
		r.NewGas = res.GasUsed
	}
	if err != nil {
		r.Error, r.ErrorKind = firstSentence(err), hostErrorKind(err)
		return
	}
	if res.Bill.Currency != b.Currency || res.Bill.Scale != b.Scale {
		r.Error = fmt.Sprintf("it billed in %s with scale %d, but the price book is in %s with scale %d: the ledger would refuse the bill",
			res.Bill.Currency, res.Bill.Scale, b.Currency, b.Scale)
		r.ErrorKind = "currency"
		return
	}
	n := res.Bill.Total
	d, ok := sub64(n, b.Amount)
	if !ok {
		r.Error, r.ErrorKind = fmt.Sprintf("its total %d differs from the bill's %d by more than an int64 holds", n, b.Amount), "overflow"
		return
	}
	r.New, r.Diff = &n, &d
	r.NewLines = chaincode.BillLines(res.Bill)
}

// hostErrorKind names a rule failure as rule run does.
func hostErrorKind(err error) string {
	switch {
	case errors.Is(err, host.ErrRule):
		return "rule"
	case errors.Is(err, host.ErrOutOfGas):
		return "out_of_gas"
	case errors.Is(err, host.ErrTrap):
		return "trap"
	case errors.Is(err, host.ErrStackLimit):
		return "stack"
	case errors.Is(err, host.ErrMemoryLimit):
		return "memory"
	case errors.Is(err, host.ErrBadOutput):
		return "bad_output"
	}
	return "host"
}

func sub64(a, b int64) (int64, bool) {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		return 0, false
	}
	return d, true
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// backtestTotals sums the bills per side, counterparty, currency and scale.
func backtestTotals(bills []backtestBill) []backtestTotal {
	idx := map[string]int{}
	var out []backtestTotal
	for _, b := range bills {
		k := b.Role + "\x00" + b.Counterparty + "\x00" + b.Currency + "\x00" + fmt.Sprint(b.Scale)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, backtestTotal{Role: b.Role, Counterparty: b.Counterparty, Currency: b.Currency, Scale: b.Scale})
		}
		t := &out[i]
		t.Bills++
		var n int64
		switch {
		case b.New == nil:
			t.Failed++
		case *b.Diff != 0:
			t.Changed++
			n = *b.New
		default:
			n = *b.New
		}
		var ok1, ok2 bool
		t.Old, ok1 = add64(t.Old, b.Old)
		t.New, ok2 = add64(t.New, n)
		t.Overflow = t.Overflow || !ok1 || !ok2
	}
	for i := range out {
		d, ok := sub64(out[i].New, out[i].Old)
		out[i].Diff = d
		out[i].Overflow = out[i].Overflow || !ok
		if out[i].Overflow {
			out[i].Old, out[i].New, out[i].Diff = 0, 0, 0
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Role != b.Role {
			return a.Role > b.Role // provider first
		}
		if a.Counterparty != b.Counterparty {
			return a.Counterparty < b.Counterparty
		}
		if a.Currency != b.Currency {
			return a.Currency < b.Currency
		}
		return a.Scale < b.Scale
	})
	if out == nil {
		out = []backtestTotal{}
	}
	return out
}

// signedMoney is money with a + on a positive difference.
func signedMoney(amount int64, scale int, currency string) string {
	s := money(amount, scale, currency)
	if amount > 0 {
		s = "+" + s
	}
	return s
}

func printBacktest(p *printer, rep *backtestReport, org string) {
	c := rep.Candidate
	name := c.Ref
	if c.Rule != "" {
		name = "rule " + c.Rule + " (" + c.Status + ")"
	}
	window := "any time"
	switch {
	case rep.From != 0 && rep.To != 0:
		window = ts(rep.From) + " to " + ts(rep.To)
	case rep.From != 0:
		window = ts(rep.From) + " on"
	case rep.To != 0:
		window = "before " + ts(rep.To)
	}
	p.Printf("Backtest of %s on the bills of type %s that %s can read, periods ending %s. Nothing was written.\n", name, rep.Type, org, window)
	p.KV("sha256", c.Hash, "prepared", c.PreparedHash+" (profile "+c.Profile+")", "gas limit", fmt.Sprint(c.GasLimit))
	if len(c.Types) > 0 && !slices.Contains(c.Types, rep.Type) {
		p.Printf("Note: the rule prices types %s, not %s: it cannot be activated for %s as uploaded.\n", strings.Join(c.Types, ", "), rep.Type, rep.Type)
	}
	p.Printf("\n")
	if len(rep.Bills) == 0 {
		p.Printf("No bills of type %s in that window: nothing to compare. Widen --from/--to, or check the type (fedmeter bill list).\n", rep.Type)
		return
	}
	rows := make([][]string, len(rep.Bills))
	for i, b := range rep.Bills {
		newS, diff := "FAILED", "-"
		if b.New != nil {
			newS, diff = money(*b.New, b.Scale, b.Currency), signedMoney(*b.Diff, b.Scale, b.Currency)
		}
		rows[i] = []string{b.Bill, b.Role, b.Counterparty, period(b.Period), b.BilledBy, money(b.Old, b.Scale, b.Currency), newS, diff}
	}
	p.Table("", []string{"BILL", "AS", "COUNTERPARTY", "PERIOD", "BILLED BY", "OLD", "NEW", "DIFF"}, rows)
	var notes []string
	for _, b := range rep.Bills {
		if b.Error != "" {
			notes = append(notes, fmt.Sprintf("  %s: the candidate failed (%s): %s", b.Bill, b.ErrorKind, b.Error))
		}
		if b.ErrorKind != "input" && !b.InputMatches {
			notes = append(notes, fmt.Sprintf("  %s: the input rebuilt from ledger data does not hash to the bill's input hash; fedmeter bill verify %s says more", b.Bill, b.Bill))
		}
	}
	if len(notes) > 0 {
		p.Printf("\n%s\n", strings.Join(notes, "\n"))
	}
	p.Printf("\nBy counterparty and currency (a failed bill counts as 0 in NEW: on the ledger it would be pending):\n")
	trows := make([][]string, len(rep.Totals))
	for i, t := range rep.Totals {
		o, n, d := money(t.Old, t.Scale, t.Currency), money(t.New, t.Scale, t.Currency), signedMoney(t.Diff, t.Scale, t.Currency)
		if t.Overflow {
			o, n, d = "overflow", "overflow", "overflow"
		}
		trows[i] = []string{t.Role, t.Counterparty, t.Currency, fmt.Sprint(t.Bills), fmt.Sprint(t.Changed), fmt.Sprint(t.Failed), o, n, d}
	}
	p.Table("", []string{"AS", "COUNTERPARTY", "CURRENCY", "BILLS", "CHANGED", "FAILED", "OLD", "NEW", "DIFF"}, trows)
	p.Printf("\n%s: %d changed, %d unchanged, %d failed under the candidate.\n", plural(len(rep.Bills), "bill"), rep.Changed, rep.Unchanged, rep.Failed)
}

// firstSentence is err's first line without a trailing period, for use
// inside a sentence of ours.
func firstSentence(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}
