package app

import (
	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// bill rerate: re-rating a closed period (issue 22).

func billRerate(st *state) *cli.Command {
	return &cli.Command{
		Name:      "rerate",
		Usage:     "re-bill a closed period under the rule and prices now in force, as adjustment bills (a provider admin)",
		UsageText: "fedmeter bill rerate (--type TYPE | --resource ID) --from TIME --to TIME --reason TEXT",
		Description: `After a rule or price fix: recomputes the caller's bills (as provider) of
--type, or of --resource, whose period ends in [--from, --to), with the rule
active for the type now and the prices in force now, over the same usage.
For each bill whose amount changes it issues an adjustment bill (kind
adjustment) for the difference between the new amount and what the bill and
its earlier adjustments came to; the old bills stay as they were. A zero
difference issues nothing, so running it twice issues nothing the second
time. At most 100 bills per call. fedmeter bill verify checks an adjustment
as it checks any bill.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Usage: "re-rate the bills of resource type `TYPE`"},
			&cli.StringFlag{Name: "resource", Usage: "re-rate the bills of resource `ID` only"},
			&cli.StringFlag{Name: "from", Usage: "periods ending at or after `TIME` (required)"},
			&cli.StringFlag{Name: "to", Usage: "periods ending before `TIME` (required)"},
			&cli.StringFlag{Name: "reason", Usage: "why, as `TEXT` (required; recorded in each adjustment)"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			if (c.String("type") == "") == (c.String("resource") == "") {
				return usageErr(c, "give one of --type and --resource")
			}
			if c.String("from") == "" || c.String("to") == "" || c.String("reason") == "" {
				return usageErr(c, "--from, --to and --reason are required")
			}
			from, to, err := periodFlags(c)
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*model.RerateResult, error) {
				return cl.RerateBills(c.Context, client.Rerate{Type: c.String("type"), Resource: c.String("resource"), From: from, To: to, Reason: c.String("reason")})
			}, printRerate)
		},
	}
}

func printRerate(p *printer, r *model.RerateResult) {
	p.Printf("Re-rated %s with rule %s %s: %d unchanged, %s issued.\n", plural(r.Examined, "bill"), r.Rule.Name, r.Rule.Version, r.Unchanged, plural(len(r.Adjustments), "adjustment"))
	rows := make([][]string, len(r.Adjustments))
	for i, a := range r.Adjustments {
		rows[i] = []string{a.ID, a.Adjusts, money(a.Previous, a.Scale, a.Currency), money(a.Rerated, a.Scale, a.Currency), signedMoney(a.Amount, a.Scale, a.Currency)}
	}
	if len(rows) > 0 {
		p.Table("", []string{"ADJUSTMENT", "ADJUSTS", "WAS", "NOW", "DIFFERENCE"}, rows)
	}
	for _, d := range r.Draws {
		if len(d.Crossed) > 0 {
			p.Printf("Allocation %s crossed %s (balance %d minor units).\n", d.Allocation, reachedText(d.Crossed), d.Balance)
		}
	}
}
