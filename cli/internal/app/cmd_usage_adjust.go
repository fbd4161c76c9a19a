package app

import (
	"strconv"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// usage adjust and usage void: compensating usage records (issue 22;
// chaincode/usage_adjust.go has the design).

func usageCorrectionFlags(quantity bool) []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "metric", Usage: "the record's metric `NAME` (required)"},
		&cli.StringFlag{Name: "start", Usage: "the record's start `TIME` (required; as sent: Unix seconds, RFC 3339 or YYYY-MM-DD)"},
		&cli.StringFlag{Name: "end", Usage: "the record's end `TIME` (required)"},
		&cli.StringFlag{Name: "id", Usage: "the record's `ID`, if it was sent with one (default: the derived ID)"},
		&cli.StringFlag{Name: "reason", Usage: "why, as `TEXT` (required; recorded with the correction)"},
	}
	if quantity {
		fs = append(fs, &cli.StringFlag{Name: "quantity", Usage: "what the record should count, an integer `N` >= 0 in the metric's unit (required)"})
	}
	return fs
}

func usageAdjustCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "adjust",
		Usage:     "correct a usage record to the quantity it should have counted, with a compensating record (the provider)",
		UsageText: "fedmeter usage adjust RESOURCE --metric NAME --start TIME --end TIME [--id ID] --quantity N --reason TEXT",
		Description: `A usage record is never edited. This writes a correction beside it: a record
over the same resource, metric and period whose quantity is the difference
between --quantity and what the record (with its earlier corrections) counts
now, with the record's ID and --reason. The record is named exactly as it was
sent: its resource, metric, start and end, and --id if it had one.

Before the period is billed, the next bill counts the corrected quantity.
After, the bill stays as it was; re-rate the period (fedmeter bill rerate
--resource RESOURCE ...) to bill the difference. Correcting to the quantity
the record already counts changes nothing, so it is safe to rerun. A raise
that would make the resource's usage pass the largest quantity a bill can
hold is refused. An identity of the resource's provider org, as for usage
submit (e.g. --as Org1/Agent1). To void a record, fedmeter usage void.`,
		Flags:  usageCorrectionFlags(true),
		Action: func(c *cli.Context) error { return runUsageCorrection(st, c, true) },
	}
}

func usageVoidCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "void",
		Usage:     "void a usage record sent in error, with a compensating record (the provider)",
		UsageText: "fedmeter usage void RESOURCE --metric NAME --start TIME --end TIME [--id ID] --reason TEXT",
		Description: `fedmeter usage adjust with --quantity 0: the record counts nothing from now
on (see fedmeter usage adjust --help). Resubmitting the voided record later
is a duplicate and does not bring it back; send a record with another ID.`,
		Flags:  usageCorrectionFlags(false),
		Action: func(c *cli.Context) error { return runUsageCorrection(st, c, false) },
	}
}

func runUsageCorrection(st *state, c *cli.Context, adjust bool) error {
	a, err := args(c, 1, 1, "RESOURCE")
	if err != nil {
		return err
	}
	required := []string{"metric", "start", "end", "reason"}
	if adjust {
		required = append(required, "quantity")
	}
	for _, f := range required {
		if c.String(f) == "" {
			return usageErr(c, "--%s is required", f)
		}
	}
	var q int64
	if adjust {
		if q, err = strconv.ParseInt(c.String("quantity"), 10, 64); err != nil || q < 0 {
			return usageErr(c, "--quantity %q is not valid: it must be an integer of 0 or more, in the metric's unit", c.String("quantity"))
		}
	}
	start, err := timeFlag(c, "start")
	if err != nil {
		return err
	}
	end, err := timeFlag(c, "end")
	if err != nil {
		return err
	}
	u := client.UsageCorrection{Resource: a[0], Metric: c.String("metric"), Start: start, End: end, ID: c.String("id"), Quantity: q, Reason: c.String("reason")}
	return show(st, c, func(cl *client.Client) (*model.UsageAdjustment, error) {
		return cl.AdjustUsage(c.Context, u)
	}, func(p *printer, r *model.UsageAdjustment) {
		if r.Correction == nil {
			p.Printf("Record %s already counts %d: nothing written.\n", r.Record, r.After)
			return
		}
		p.Printf("Corrected record %s from %d to %d (correction %s, %+d).\n", r.Record, r.Before, r.After, r.Correction.ID, r.Correction.Quantity)
		if r.Billed {
			p.Printf("Its period is billed already: the bill stays; run fedmeter bill rerate --resource %s --from ... --to ... --reason ... to bill the difference.\n", a[0])
		}
	})
}
