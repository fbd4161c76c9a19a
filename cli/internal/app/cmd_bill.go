package app

import (
	"context"
	"errors"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/verify"
	"github.com/urfave/cli/v2"
)

func billCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "bill",
		Category: "Bills",
		Usage:    "bills: list, show, totals, close a period, verify offline, re-rate, credit, export",
		Description: `A bill is computed on the ledger when a resource is released (or a period
closed) by the rule active for its type, from ledger data alone. Only its
provider and consumer may read it. Every bill records its rule's code hash,
the hash of its input and the gas used, so either org can recompute it
offline: fedmeter bill verify ID.`,
		Subcommands: []*cli.Command{billList(st), billShow(st), billTotal(st), billClose(st), billVerify(st), billRerate(st), billCredit(st), billExport(st)},
	}
}

func billList(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the caller's org's bills, as provider and as consumer",
		UsageText: "fedmeter bill list [--role provider|consumer] [--resource ID] [--from TIME] [--to TIME]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "role", Usage: "only as `ROLE`: provider (bills issued) or consumer (bills received)"},
			&cli.StringFlag{Name: "resource", Usage: "only the bills of resource `ID`"},
			&cli.StringFlag{Name: "from", Usage: "only periods ending at or after `TIME`"},
			&cli.StringFlag{Name: "to", Usage: "only periods ending before `TIME`"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			from, to, err := periodFlags(c)
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) ([]chaincode.Bill, error) {
				return nonNil(cl.Bills(c.Context, client.BillFilter{Role: c.String("role"), Resource: c.String("resource"), From: from, To: to}))
			}, printBills)
		},
	}
}

func printBills(p *printer, bills []chaincode.Bill) {
	rows := make([][]string, len(bills))
	for i, b := range bills {
		rule := b.Rule.Name + "@" + b.Rule.Version
		if b.Rule.Hash == "" { // a correction (a credit note) ran no rule
			rule = b.Kind + " of " + b.Adjusts
		}
		rows[i] = []string{b.ID, b.Provider, b.Consumer, b.ResourceType, ts(b.Period.End), money(b.Amount, b.Scale, b.Currency), rule}
	}
	p.Table("No bills.", []string{"BILL", "PROVIDER", "CONSUMER", "TYPE", "PERIOD END", "AMOUNT", "RULE"}, rows)
}

func billShow(st *state) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a bill with its lines",
		UsageText: "fedmeter bill show ID",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Bill, error) { return cl.Bill(c.Context, a[0]) }, printBill)
		},
	}
}

func billTotal(st *state) *cli.Command {
	return &cli.Command{
		Name:      "total",
		Usage:     "sum the caller's org's bills: receivable and payable per counterparty",
		UsageText: "fedmeter bill total [--from TIME] [--to TIME] [--provider]",
		Description: `Sums the bills whose period ends in [--from, --to). With --provider, the
provider's receivables over all time (the seed's queryProviderTotalCost).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "periods ending at or after `TIME`"},
			&cli.StringFlag{Name: "to", Usage: "periods ending before `TIME`"},
			&cli.BoolFlag{Name: "provider", Usage: "only the receivables of the caller's org, all time"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			provider := c.Bool("provider")
			return show(st, c, func(cl *client.Client) (*chaincode.Totals, error) {
				if provider {
					if c.String("from") != "" || c.String("to") != "" {
						return nil, usageErr(c, "--provider sums all time; drop --from and --to")
					}
					return cl.ProviderTotalCost(c.Context, cl.MSPID())
				}
				from, to, err := periodFlags(c)
				if err != nil {
					return nil, err
				}
				return cl.Totals(c.Context, from, to)
			}, func(p *printer, t *chaincode.Totals) { printTotals(p, t, true, !provider) })
		},
	}
}

func billClose(st *state) *cli.Command {
	return &cli.Command{
		Name:      "close",
		Usage:     "bill an active resource's period up to a time, or a released one's pending bill (the provider)",
		UsageText: "fedmeter bill close RESOURCE [--end TIME]",
		Description: `For an active resource: bills the period from its last bill to --end with the
rule active for its type at --end.

For a released resource whose bill is pending (its rule failed at release):
issues that bill, for the period up to the release, with the rule active for
its type now. If the rule fails again nothing is written and the bill stays
pending (exit 4).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "end", Usage: "period end `TIME` (default now; not in the future)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "RESOURCE")
			if err != nil {
				return err
			}
			end, err := timeArgFlag(c, "end")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Bill, error) {
				sum, err := cl.CloseBill(c.Context, a[0], end)
				if err != nil {
					return nil, err
				}
				return issuedBill(c.Context, cl, sum)
			}, printBill)
		},
	}
}

func billVerify(st *state) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "recompute a bill offline from ledger data and the rule's code, and compare",
		UsageText: "fedmeter bill verify ID [--head HASH]",
		Description: `Reads the bill, the rule's code by its hash (checking the SHA-256), the
resource, the price entry in force at the period start, the quota and the
usage records of the period; rebuilds the rule's input; prepares and runs
the rule locally in the Wasm host; and compares the prepared hash, the input
hash, the amount, the lines and the gas with the bill. Exit 0 if everything
matches, 5 if anything differs. Either org of the bill may verify it.

On the embedded ledger it also checks the ledger data it read ("ledger
data"): each entry must be what the block that last wrote it wrote, and
those blocks must chain, hash by hash, to the ledger's head, which it
prints. --head HASH pins that head (a hash kept elsewhere, from ledger info
or ledger verify): a log rewritten wholesale then fails too.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "head", Usage: "embedded ledger: the ledger data must chain to this head `HASH` (64 hex digits, from ledger info or ledger verify)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			if c.String("head") != "" && c.String("profile") != "" {
				return client.Errorf(client.KindInvalid, "--head pins the embedded ledger's head hash; on Fabric the peers validate the blocks").
					WithHint("drop --head when using --profile")
			}
			start := time.Now()
			var v *verify.Verification
			err = show(st, c, func(cl *client.Client) (*verify.Verification, error) {
				start = time.Now()
				v, err = verify.Bill(c.Context, cl, a[0], verify.Options{Head: c.String("head")})
				return v, err
			}, func(p *printer, v *verify.Verification) { printVerify(p, v, time.Since(start)) })
			if err != nil {
				return err
			}
			return verifyErr(v)
		},
	}
}

func printVerify(p *printer, v *verify.Verification, took time.Duration) {
	b := v.Bill
	credit := b.Kind == model.BillKindCredit
	if credit {
		p.Printf("Checked credit note %s against bill %s (a credit note runs no rule) in %s:\n", b.ID, b.Adjusts, took.Round(10*time.Millisecond))
	} else {
		p.Printf("Recomputed bill %s offline with rule %s %s (%s) in %s:\n", b.ID, b.Rule.Name, b.Rule.Version, short(b.Rule.Hash), took.Round(10*time.Millisecond))
	}
	rows := make([][]string, len(v.Checks))
	for i, ch := range v.Checks {
		mark, l, r := "ok", ch.Ledger, ch.Recomputed
		if !ch.OK {
			mark = "DIFFERS"
		} else if len(l) >= 64 {
			l, r = short(l), short(r)
		}
		rows[i] = []string{"  " + ch.Name, mark, l, r}
	}
	p.Table("", []string{"  CHECK", "RESULT", "ON THE LEDGER", "RECOMPUTED"}, rows)
	if v.OK {
		if credit {
			p.Printf("Credit note %s verified: %s on bill %s, within what that bill charged.\n", b.ID, money(b.Amount, b.Scale, b.Currency), b.Adjusts)
		} else {
			p.Printf("Bill %s verified: the ledger's %s is exactly what the rule computes.\n", b.ID, money(b.Amount, b.Scale, b.Currency))
		}
		if v.Head != "" {
			p.Printf("The ledger data it read chains to head %s (pin it with --head).\n", v.Head)
		}
	} else {
		p.Printf("\nRebuilt input: %s\n", v.Input)
	}
}

// issuedBill reads the bill that a release or a period close just issued:
// the transaction's result has only its summary. If the read fails, the bill
// is on the ledger all the same, and the error says so.
func issuedBill(ctx context.Context, cl *client.Client, sum *chaincode.BillSummary) (*chaincode.Bill, error) {
	b, err := cl.Bill(ctx, sum.ID)
	if err == nil {
		return b, nil
	}
	kind, msg := client.KindInternal, err.Error()
	var ce *client.Error
	if errors.As(err, &ce) {
		kind, msg = ce.Kind, ce.Msg
	}
	return nil, client.Errorf(kind, "bill %s (%s %s) was issued, but reading it back failed: %s",
		sum.ID, client.FormatMoney(sum.Amount, sum.Scale), sum.Currency, msg).
		WithHint("the bill is on the ledger: fedmeter bill show %s", sum.ID)
}

// periodFlags are --from and --to (parseTime's forms), the zero time for
// unbounded.
func periodFlags(c *cli.Context) (from, to time.Time, err error) {
	if from, err = timeFlag(c, "from"); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if to, err = timeFlag(c, "to"); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return from, to, nil
}
