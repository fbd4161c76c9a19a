package app

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/statementdoc"
	"github.com/urfave/cli/v2"
)

func statementCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "statement",
		Category: "Bills",
		Usage:    "statements: a provider's bills to one consumer for a month, acknowledged and paid",
		Description: `A statement rolls up the bills a provider issued one consumer in one currency
over a period (a month, or any --from/--to): every bill whose period ends in
it and that is on no statement yet, and the late bills of earlier periods
(those that arrived after their period's statement was issued). No bill is
ever on two statements. The ledger stores the bill IDs and a hash of them.

The consumer acknowledges it, or disputes it with a reason (the provider
answers with credit notes: fedmeter bill credit, which go to the next
statement). Either org records payments; the provider, the payee, confirms
them; the statement is paid once confirmed payments cover its total. The
provider voids a statement issued in error while no payment is recorded;
its bills go on the next statement. Every act is for the admins of the org
concerned.`,
		Subcommands: []*cli.Command{statementIssue(st), statementList(st), statementShow(st), statementAcknowledge(st),
			statementDispute(st), statementPay(st), statementConfirm(st), statementVoid(st), statementExport(st)},
	}
}

func statementIssue(st *state) *cli.Command {
	return &cli.Command{
		Name:      "issue",
		Usage:     "issue a statement of the caller's org's bills to a consumer (the provider's admins)",
		UsageText: "fedmeter statement issue CONSUMER --currency CUR (--month YYYY-MM | --from TIME --to TIME) [--id ID]",
		Description: `States the bills of the caller's org (the provider) to CONSUMER in --currency
whose period ends in the period and that are on no statement yet, with the
late bills of earlier periods. --month is a calendar month in UTC. The
period must have ended (--to not in the future). The ID defaults to
st-CONSUMER-CUR-PERIOD.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "currency", Usage: "the statement's `CURRENCY` (one statement, one currency)"},
			&cli.StringFlag{Name: "month", Usage: "the calendar `MONTH` (YYYY-MM, UTC)"},
			&cli.StringFlag{Name: "from", Usage: "period start `TIME` (with --to, instead of --month)"},
			&cli.StringFlag{Name: "to", Usage: "period end `TIME` (excluded)"},
			&cli.StringFlag{Name: "id", Usage: "the statement's `ID` (default st-CONSUMER-CUR-PERIOD)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "CONSUMER")
			if err != nil {
				return err
			}
			cur := c.String("currency")
			if cur == "" {
				return usageErr(c, "--currency is required: a statement is in one currency")
			}
			from, to, label, err := statementPeriod(c)
			if err != nil {
				return err
			}
			id := c.String("id")
			if id == "" {
				id = "st-" + a[0] + "-" + cur + "-" + label
			}
			return show(st, c, func(cl *client.Client) (*client.Statement, error) {
				return cl.IssueStatement(c.Context, client.StatementRequest{ID: id, Consumer: a[0], Currency: cur, From: from, To: to})
			}, func(p *printer, s *client.Statement) {
				p.Printf("Issued statement %s to %s: %s, %s.\n", s.ID, s.Consumer, plural(s.Bills, "bill"), money(s.Total, s.Scale, s.Currency))
				printStatement(p, s)
			})
		},
	}
}

// statementPeriod is --month or --from/--to, and a label for the default
// ID.
func statementPeriod(c *cli.Context) (from, to time.Time, label string, err error) {
	if m := c.String("month"); m != "" {
		if c.String("from") != "" || c.String("to") != "" {
			return from, to, "", usageErr(c, "--month is a period already; drop --from and --to")
		}
		from, err = time.Parse("2006-01", m)
		if err != nil {
			return from, to, "", usageErr(c, "--month %q is not a month: write YYYY-MM, e.g. 2026-01", m)
		}
		return from, from.AddDate(0, 1, 0), m, nil
	}
	from, to, err = periodFlags(c)
	if err != nil {
		return from, to, "", err
	}
	if from.IsZero() || to.IsZero() {
		return from, to, "", usageErr(c, "a statement needs a period: --month YYYY-MM, or --from and --to")
	}
	return from, to, from.Format("20060102") + "-" + to.Format("20060102"), nil
}

func statementList(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the caller's org's statements, issued and received",
		UsageText: "fedmeter statement list [--role provider|consumer] [--status open|acknowledged|disputed|paid|void]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "role", Usage: "only as `ROLE`: provider (issued) or consumer (received)"},
			&cli.StringFlag{Name: "status", Usage: "only those with `STATUS`"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) ([]client.Statement, error) {
				return nonNil(cl.Statements(c.Context, c.String("role"), c.String("status")))
			}, func(p *printer, ss []client.Statement) {
				rows := make([][]string, len(ss))
				for i, s := range ss {
					rows[i] = []string{s.ID, s.Provider, s.Consumer, day(s.Period.Start) + " to " + day(s.Period.End), strconv.Itoa(s.Bills),
						money(s.Total, s.Scale, s.Currency), s.Status, money(s.Outstanding(), s.Scale, s.Currency)}
				}
				p.Table("No statements.", []string{"STATEMENT", "PROVIDER", "CONSUMER", "PERIOD", "BILLS", "TOTAL", "STATUS", "OUTSTANDING"}, rows)
			})
		},
	}
}

// day is a Unix time as a UTC date and, unless midnight, time.
func day(unix int64) string { return statementdoc.Day(unix) }

// statementView is what statement show prints and writes as JSON: the
// statement and its bills.
type statementView struct {
	Statement *client.Statement `json:"statement"`
	Bills     []client.Bill     `json:"bills"`
}

func statementShow(st *state) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a statement with its bills (checked against its hash)",
		UsageText: "fedmeter statement show ID",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*statementView, error) {
				s, bills, err := cl.StatementBills(c.Context, a[0])
				if err != nil {
					return nil, err
				}
				return &statementView{Statement: s, Bills: bills}, nil
			}, func(p *printer, v *statementView) {
				p.Printf("Statement %s\n", v.Statement.ID)
				printStatement(p, v.Statement)
				p.Printf("\n")
				rows := make([][]string, len(v.Bills))
				for i, b := range v.Bills {
					rows[i] = []string{b.ID, b.Kind + carriedMark(v.Statement, &b), b.ResourceType, day(b.Period.End), money(b.Amount, b.Scale, b.Currency), b.Adjusts}
				}
				p.Table("", []string{"BILL", "KIND", "TYPE", "PERIOD END", "AMOUNT", "ADJUSTS"}, rows)
				p.Printf("The IDs of the %s hash to %s, as the statement records.\n", plural(len(v.Bills), "bill"), v.Statement.BillsHash)
			})
		},
	}
}

// carriedMark marks a late bill of an earlier period.
func carriedMark(s *client.Statement, b *client.Bill) string {
	if b.Period.End < s.Period.Start {
		return " (late)"
	}
	return ""
}

func printStatement(p *printer, s *client.Statement) {
	m := func(v int64) string { return money(v, s.Scale, s.Currency) }
	carried := ""
	if s.Carried > 0 {
		carried = fmt.Sprintf("%d of them late bills of earlier periods", s.Carried)
	}
	p.KV("provider", s.Provider, "consumer", s.Consumer,
		"period", day(s.Period.Start)+" to "+day(s.Period.End)+" (period ends; the end excluded)",
		"bills", strconv.Itoa(s.Bills), "late", carried,
		"charges", m(s.Charges), "credits", m(s.Credits), "total", m(s.Total),
		"status", s.Status, "confirmed", m(s.Confirmed), "outstanding", m(s.Outstanding()),
		"bills hash", s.BillsHash, "issued", ts(s.Issued.Time)+" by "+s.IssuedBy.MSP+" (tx "+short(s.Issued.Tx)+")")
	if a := s.Acknowledged; a != nil {
		p.KV("acknowledged", ts(a.Time)+" by "+a.By.MSP)
	}
	if d := s.Dispute; d != nil {
		p.KV("disputed", ts(d.Time)+" by "+d.By.MSP+": "+d.Reason)
	}
	if s.Paid != nil {
		p.KV("paid", ts(s.Paid.Time))
	}
	if v := s.Voided; v != nil {
		p.KV("voided", ts(v.Time)+" by "+v.By.MSP+": "+v.Reason)
	}
	if len(s.Payments) > 0 {
		rows := make([][]string, len(s.Payments))
		for i, pm := range s.Payments {
			conf := "not yet"
			if pm.Confirmed != nil {
				conf = ts(pm.Confirmed.Time)
			}
			rows[i] = []string{"  " + pm.Reference, m(pm.Amount), day(pm.Date), pm.RecordedBy.MSP, conf}
		}
		p.Printf("  payments:\n")
		p.Table("", []string{"  REFERENCE", "AMOUNT", "DATE", "RECORDED BY", "CONFIRMED"}, rows)
	}
}

func statementAcknowledge(st *state) *cli.Command {
	return &cli.Command{
		Name:      "acknowledge",
		Usage:     "accept a statement (the consumer's admins)",
		UsageText: "fedmeter statement acknowledge ID",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*client.Statement, error) {
				return cl.AcknowledgeStatement(c.Context, a[0])
			}, func(p *printer, s *client.Statement) {
				p.Printf("%s acknowledged statement %s (%s): it is %s.\n", s.Consumer, s.ID, money(s.Total, s.Scale, s.Currency), s.Status)
			})
		},
	}
}

func statementDispute(st *state) *cli.Command {
	return &cli.Command{
		Name:      "dispute",
		Usage:     "dispute a statement, with a reason (the consumer's admins)",
		UsageText: "fedmeter statement dispute ID --reason TEXT",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why, in `TEXT` the provider reads"}},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			if strings.TrimSpace(c.String("reason")) == "" {
				return usageErr(c, "--reason is required: the provider answers it")
			}
			return show(st, c, func(cl *client.Client) (*client.Statement, error) {
				return cl.DisputeStatement(c.Context, a[0], c.String("reason"))
			}, func(p *printer, s *client.Statement) {
				p.Printf("%s disputed statement %s: %s\n", s.Consumer, s.ID, s.Dispute.Reason)
			})
		},
	}
}

func statementPay(st *state) *cli.Command {
	return &cli.Command{
		Name:      "pay",
		Usage:     "record a payment against a statement (admins of either org)",
		UsageText: "fedmeter statement pay ID --reference REF --amount AMOUNT|outstanding [--date TIME]",
		Description: `Records a payment: the payer's reference (unique within the statement), the
amount in the statement's currency (12.50; "outstanding": all that is still
to pay) and the date it was made (default: the transaction's time). At most
what is still outstanding. The provider confirms it: fedmeter statement confirm.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "reference", Usage: "the payment's `REF` (a bank reference)"},
			&cli.StringFlag{Name: "amount", Usage: "the `AMOUNT` paid, in the statement's currency (e.g. 12.50), or outstanding"},
			&cli.StringFlag{Name: "date", Usage: "when it was paid, `TIME` (RFC 3339, YYYY-MM-DD or Unix seconds; default now)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			if c.String("reference") == "" || c.String("amount") == "" {
				return usageErr(c, "--reference and --amount are required")
			}
			date, err := timeFlag(c, "date")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*client.Statement, error) {
				s, err := cl.Statement(c.Context, a[0])
				if err != nil {
					return nil, err
				}
				amt := s.Outstanding()
				if c.String("amount") != "outstanding" {
					if amt, err = parseAmount("--amount", c.String("amount"), s.Scale); err != nil {
						return nil, err
					}
				}
				return cl.RecordPayment(c.Context, a[0], client.PaymentRecord{Reference: c.String("reference"), Amount: amt, Date: date})
			}, func(p *printer, s *client.Statement) {
				pm := s.Payments[len(s.Payments)-1]
				p.Printf("%s recorded payment %s of %s against statement %s; %s confirms it. Outstanding: %s.\n",
					pm.RecordedBy.MSP, pm.Reference, money(pm.Amount, s.Scale, s.Currency), s.ID, s.Provider, money(s.Outstanding(), s.Scale, s.Currency))
			})
		},
	}
}

func statementConfirm(st *state) *cli.Command {
	return &cli.Command{
		Name:      "confirm",
		Usage:     "confirm receipt of a statement's payment (the provider's admins, the payee)",
		UsageText: "fedmeter statement confirm ID REFERENCE",
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "ID", "REFERENCE")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*client.Statement, error) {
				return cl.ConfirmPayment(c.Context, a[0], a[1])
			}, func(p *printer, s *client.Statement) {
				p.Printf("%s confirmed payment %s of statement %s: %s of %s confirmed; the statement is %s.\n",
					s.Provider, a[1], s.ID, money(s.Confirmed, s.Scale, s.Currency), money(s.Total, s.Scale, s.Currency), s.Status)
			})
		},
	}
}

func statementVoid(st *state) *cli.Command {
	return &cli.Command{
		Name:      "void",
		Usage:     "withdraw a statement issued in error (the provider's admins; no payment recorded)",
		UsageText: "fedmeter statement void ID --reason TEXT",
		Description: `Voids a statement while no payment is recorded against it: it stays on the
ledger, void, and its bills go on the next statement issued for its consumer
and currency. Once a payment is recorded, correct it with credit notes
instead (fedmeter bill credit).`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "reason", Usage: "why, in `TEXT` the consumer reads"}},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			if strings.TrimSpace(c.String("reason")) == "" {
				return usageErr(c, "--reason is required: the consumer reads it")
			}
			return show(st, c, func(cl *client.Client) (*client.Statement, error) {
				return cl.VoidStatement(c.Context, a[0], c.String("reason"))
			}, func(p *printer, s *client.Statement) {
				p.Printf("%s voided statement %s (%s): its bills go on the next statement.\n", s.Provider, s.ID, plural(s.Bills, "bill"))
			})
		},
	}
}

func statementExport(st *state) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a statement as CSV or as a printable HTML page",
		UsageText: "fedmeter statement export ID [--format csv|html] [--out FILE]",
		Description: `Writes the statement's bills, one line per bill with its ID on the ledger,
after checking them against the statement's hash and total. CSV: one row per
bill (amounts in minor units and in the currency's units). HTML: a page to
print (or save as PDF from a browser), with the totals, the payments and
the hash. No PDF is written directly.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "csv", Usage: "`FORMAT`: csv or html"},
			&cli.StringFlag{Name: "out", Usage: "write to `FILE` instead of standard output"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			format := c.String("format")
			if format != "csv" && format != "html" {
				return usageErr(c, "--format %q is not valid: it must be csv or html", format)
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				s, bills, err := cl.StatementBills(c.Context, a[0])
				if err != nil {
					return err
				}
				w := st.io.Stdout
				var f *os.File
				if out := c.String("out"); out != "" {
					if f, err = os.Create(out); err != nil {
						return client.Errorf(client.KindInvalid, "--out %s cannot be written: %v", out, err)
					}
					w = f
				}
				if format == "csv" {
					err = writeStatementCSV(w, s, bills)
				} else {
					err = writeStatementHTML(w, s, bills)
				}
				if f != nil {
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err == nil {
						fmt.Fprintf(st.io.Stderr, "Wrote statement %s (%s, %s) to %s.\n", s.ID, plural(len(bills), "bill"), money(s.Total, s.Scale, s.Currency), c.String("out"))
					}
				}
				if err != nil {
					return client.Errorf(client.KindInternal, "writing statement %s failed: %v", s.ID, err)
				}
				return nil
			})
		},
	}
}

func billCredit(st *state) *cli.Command {
	return &cli.Command{
		Name:      "credit",
		Usage:     "issue a credit note against a bill (the provider's admins)",
		UsageText: "fedmeter bill credit BILL --amount AMOUNT --reason TEXT",
		Description: `Gives money back on a bill without rewriting it: a bill of kind credit, the
resource's next bill, whose amount is -AMOUNT (in the bill's currency,
e.g. 12.50; never more decimals than it counts) and which names the bill it
credits.
A bill's credits never exceed what it charges net of earlier corrections.
The credit goes to the consumer's next statement.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "amount", Usage: "the `AMOUNT` to credit, in the bill's currency (e.g. 1.50)"},
			&cli.StringFlag{Name: "reason", Usage: "why, in `TEXT` the consumer reads"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "BILL")
			if err != nil {
				return err
			}
			if c.String("amount") == "" || strings.TrimSpace(c.String("reason")) == "" {
				return usageErr(c, "--amount and --reason are required")
			}
			return show(st, c, func(cl *client.Client) (*client.Bill, error) {
				orig, err := cl.Bill(c.Context, a[0])
				if err != nil {
					return nil, err
				}
				amt, err := parseAmount("--amount", c.String("amount"), orig.Scale)
				if err != nil {
					return nil, err
				}
				return cl.CreditBill(c.Context, a[0], amt, c.String("reason"))
			}, func(p *printer, b *client.Bill) {
				p.Printf("Issued credit note %s: %s on bill %s (%s).\n", b.ID, money(b.Amount, b.Scale, b.Currency), b.Adjusts, b.Reason)
			})
		},
	}
}
