package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// allocation grant, topup, show, list: prepaid allocations (issue 22).

func allocationCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "allocation",
		Category: "Bills",
		Usage:    "prepaid allocations: grant, top up, show the balance, list",
		Description: `A provider grants a consumer a prepaid amount in a currency for a window
[--from, --to), as research grants work. Bills of the provider to the
consumer in that currency whose period ends in the window draw it down;
the bills that take the use to 80% and to 100% of the amount cross those
thresholds (once each: the bill's BillIssued event carries them, and
allocation show lists them). With --hard-stop the consumer's new resource
requests are refused (quota_exceeded) while the allocation is in force and
spent; a top-up lifts the stop and re-arms the thresholds the use falls
back below. Only the two orgs read an allocation.`,
		Subcommands: []*cli.Command{allocationGrant(st), allocationTopUp(st), allocationShow(st), allocationList(st)},
	}
}

func allocationGrant(st *state) *cli.Command {
	return &cli.Command{
		Name:      "grant",
		Usage:     "grant a consumer a prepaid allocation (a provider admin)",
		UsageText: "fedmeter allocation grant CONSUMER ID AMOUNT --currency CUR --scale N --to TIME [--from TIME] [--hard-stop]",
		Description: `AMOUNT is in the currency's units, with at most --scale decimals: with
--scale 2, "5000" and "5000.00" are 500000 minor units. Windows of one
consumer in one currency may not overlap.
Example: fedmeter --as Org1/Admin allocation grant Org2MSP grant-2026 5000 --currency CNY --scale 2 --to 2027-01-01T00:00:00Z --hard-stop`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "currency", Usage: "`CODE` of the bills that draw it (required)"},
			&cli.IntFlag{Name: "scale", Value: 2, Usage: "decimal `DIGITS` of the currency's minor unit, as in the price book"},
			&cli.StringFlag{Name: "from", Usage: "window start `TIME` (YYYY-MM-DD, RFC 3339 or Unix seconds; default now)"},
			&cli.StringFlag{Name: "to", Usage: "window end `TIME`, exclusive (required)"},
			&cli.BoolFlag{Name: "hard-stop", Usage: "refuse the consumer's new requests while the allocation is spent"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 3, 3, "CONSUMER", "ID", "AMOUNT")
			if err != nil {
				return err
			}
			if c.String("currency") == "" || c.String("to") == "" {
				return usageErr(c, "--currency and --to are required")
			}
			amount, err := parseAmount("AMOUNT", a[2], c.Int("scale"))
			if err != nil {
				return usageErr(c, "%s", strings.TrimSuffix(err.Error(), "."))
			}
			from, to, err := periodFlags(c)
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*model.Allocation, error) {
				return cl.GrantAllocation(c.Context, client.Grant{Consumer: a[0], ID: a[1], Amount: amount, Currency: c.String("currency"),
					Scale: c.Int("scale"), From: from, To: to, HardStop: c.Bool("hard-stop")})
			}, func(p *printer, al *model.Allocation) {
				p.Printf("%s granted %s allocation %s:\n", al.Provider, al.Consumer, al.ID)
				printAllocation(p, al)
			})
		},
	}
}

func allocationTopUp(st *state) *cli.Command {
	return &cli.Command{
		Name:      "topup",
		Usage:     "add an amount to an allocation (a provider admin)",
		UsageText: "fedmeter allocation topup CONSUMER ID AMOUNT",
		Description: `AMOUNT is in the allocation's currency units (its scale gives the
decimals allowed). Only before the allocation's window ends.`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 3, 3, "CONSUMER", "ID", "AMOUNT")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*model.Allocation, error) {
				cur, err := cl.Allocation(c.Context, cl.MSPID(), a[0], a[1])
				if err != nil {
					return nil, err
				}
				amount, err := parseAmount("AMOUNT", a[2], cur.Scale)
				if err != nil {
					return nil, usageErr(c, "%s", strings.TrimSuffix(err.Error(), "."))
				}
				return cl.TopUpAllocation(c.Context, a[0], a[1], amount)
			}, func(p *printer, al *model.Allocation) {
				p.Printf("Topped up allocation %s:\n", al.ID)
				printAllocation(p, al)
			})
		},
	}
}

func allocationShow(st *state) *cli.Command {
	return &cli.Command{
		Name:        "show",
		Usage:       "show an allocation: amount, use, balance, thresholds crossed",
		UsageText:   "fedmeter allocation show PROVIDER CONSUMER ID",
		Description: `Only the two orgs may read it.`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 3, 3, "PROVIDER", "CONSUMER", "ID")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*model.Allocation, error) {
				return cl.Allocation(c.Context, a[0], a[1], a[2])
			}, func(p *printer, al *model.Allocation) {
				p.Printf("Allocation %s, %s to %s:\n", al.ID, al.Provider, al.Consumer)
				printAllocation(p, al)
			})
		},
	}
}

func allocationList(st *state) *cli.Command {
	return &cli.Command{
		Name:        "list",
		Usage:       "list the allocations a provider granted a consumer",
		UsageText:   "fedmeter allocation list PROVIDER [CONSUMER]",
		Description: `CONSUMER defaults to the caller's org. Only the two orgs may read them.`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 2, "PROVIDER", "[CONSUMER]")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*model.Allocations, error) {
				cons := cl.MSPID()
				if len(a) == 2 {
					cons = a[1]
				}
				return cl.Allocations(c.Context, a[0], cons)
			}, func(p *printer, as *model.Allocations) {
				rows := make([][]string, len(as.Entries))
				for i, al := range as.Entries {
					rows[i] = []string{al.ID, ts(al.ValidFrom), ts(al.ValidTo), money(al.Amount, al.Scale, al.Currency),
						money(al.Used, al.Scale, al.Currency), money(al.Balance, al.Scale, al.Currency), reachedText(al.Reached), strconv.FormatBool(al.HardStop)}
				}
				p.Table("No allocations.", []string{"ID", "FROM", "TO", "AMOUNT", "USED", "BALANCE", "REACHED", "HARD STOP"}, rows)
			})
		},
	}
}

func printAllocation(p *printer, al *model.Allocation) {
	stop := "no"
	if al.HardStop {
		stop = "yes: new requests are refused while it is spent"
	}
	p.KV(
		"window", ts(al.ValidFrom)+" to "+ts(al.ValidTo)+" (exclusive)",
		"amount", money(al.Amount, al.Scale, al.Currency),
		"used", fmt.Sprintf("%s by %s", money(al.Used, al.Scale, al.Currency), plural(al.Bills, "bill")),
		"balance", money(al.Balance, al.Scale, al.Currency),
		"hard stop", stop,
		"reached", reachedText(al.Reached),
	)
	if len(al.Crossed) > 0 {
		rows := make([][]string, len(al.Crossed))
		for i, x := range al.Crossed {
			rows[i] = []string{"  " + strconv.FormatInt(x.Percent, 10) + "%", x.Bill, money(x.Used, al.Scale, al.Currency) + " of " + money(x.Amount, al.Scale, al.Currency), ts(x.Time)}
		}
		p.Table("", []string{"  CROSSED", "BY BILL", "USED", "AT"}, rows)
	}
}

func reachedText(r []int64) string {
	if len(r) == 0 {
		return "-"
	}
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = strconv.FormatInt(v, 10) + "%"
	}
	return strings.Join(parts, " ")
}
