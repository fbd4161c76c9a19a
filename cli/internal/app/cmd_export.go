package app

// Exports: bills and usage as CSV or JSON lines with stable columns, for
// spreadsheets and finance systems (fedmeter bill export, usage export).
//
// Why it is built this way:
//   - Columns are a contract with whoever reads the file: their names and
//     order are fixed here, documented in cli/README.md ("Exports") and held
//     by golden files (testdata/export; go test -run TestExportGolden
//     -update rewrites them). A new column is added at the end.
//   - Money is never a float: amount_minor is the integer in minor units,
//     amount the same value as an exact decimal string, with currency and
//     scale beside them, so a spreadsheet can show amount and a finance
//     system can book amount_minor without rounding.
//   - Streaming: the contract's list transactions are paged, and the
//     client's sequences (BillsSeq, UsageSeq, ResourcesSeq) read a page
//     only when the one before has been written, so rows are written page
//     by page (500 items) and nothing but the current page is held. Usage
//     for all resources holds the list of resource IDs (not their records).
//   - Every row of a format has every column (JSON lines too: an empty
//     value is "" or 0, never a missing key), so a reader never guesses.

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/usageimport"
	"github.com/urfave/cli/v2"
)

// The columns of each export, in order. Append only: readers index them.
var (
	billColumns = []string{"bill", "kind", "adjusts", "reason", "provider", "consumer", "resource", "resource_type",
		"period_start", "period_end", "currency", "scale", "amount_minor", "amount", "lines",
		"rule", "rule_version", "rule_hash", "gas_used", "input_hash", "issued_at", "issued_by", "tx", "overrun_seconds"}
	billLineColumns = []string{"bill", "kind", "adjusts", "provider", "consumer", "resource", "resource_type",
		"period_start", "period_end", "currency", "scale", "line", "item", "quantity", "unit",
		"unit_price_minor", "unit_price", "amount_minor", "amount"}
	usageColumns = []string{"id", "resource", "resource_type", "provider", "consumer", "metric", "quantity", "start", "end", "adjusts", "reason"}
)

func exportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Value: "csv", Usage: "output `FORMAT`: csv (a header line, then a row per item) or jsonl (a JSON object per line, the same keys)"},
		&cli.StringFlag{Name: "out", Value: "-", Usage: "write to `FILE` (replaced only once the export is complete), or - for stdout"},
	}
}

// rowWriter writes rows of one export in CSV or JSON lines.
type rowWriter struct {
	format string
	cols   []string
	bw     *bufio.Writer
	cw     *csv.Writer
	rows   int
	buf    []byte
}

func newRowWriter(w io.Writer, format string, cols []string) (*rowWriter, error) {
	rw := &rowWriter{format: format, cols: cols, bw: bufio.NewWriterSize(w, 64<<10)}
	switch format {
	case "csv":
		rw.cw = csv.NewWriter(rw.bw)
		if err := rw.cw.Write(cols); err != nil {
			return nil, err
		}
	case "jsonl":
	default:
		return nil, client.Errorf(client.KindInvalid, "--format %q is not valid: it must be csv or jsonl", format)
	}
	return rw, nil
}

// row writes one row; vals are string, int, int64 or uint64, one per column.
func (rw *rowWriter) row(vals ...any) error {
	if len(vals) != len(rw.cols) {
		return client.Errorf(client.KindInternal, "an export row has %d values for %d columns", len(vals), len(rw.cols))
	}
	rw.rows++
	if rw.cw != nil {
		rec := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case string:
				rec[i] = x
			case int:
				rec[i] = strconv.Itoa(x)
			case int64:
				rec[i] = strconv.FormatInt(x, 10)
			case uint64:
				rec[i] = strconv.FormatUint(x, 10)
			}
		}
		return rw.cw.Write(rec)
	}
	b := append(rw.buf[:0], '{')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, rw.cols[i]) // column names are ASCII identifiers
		b = append(b, ':')
		switch x := v.(type) {
		case string:
			s, err := json.Marshal(x)
			if err != nil {
				return err
			}
			b = append(b, s...)
		case int:
			b = strconv.AppendInt(b, int64(x), 10)
		case int64:
			b = strconv.AppendInt(b, x, 10)
		case uint64:
			b = strconv.AppendUint(b, x, 10)
		}
	}
	b = append(b, '}', '\n')
	rw.buf = b
	_, err := rw.bw.Write(b)
	return err
}

// text is free text for a cell: in CSV, spreadsheetSafe (a leading =, +,
// -, @, tab or CR gets a quote, so that a spreadsheet opening the file does
// not run it as a formula; the statement export does the same); JSON lines
// hold it as the ledger does.
func (rw *rowWriter) text(s string) string {
	if rw.cw != nil {
		return spreadsheetSafe(s)
	}
	return s
}

func (rw *rowWriter) flush() error {
	if rw.cw != nil {
		rw.cw.Flush()
		if err := rw.cw.Error(); err != nil {
			return err
		}
	}
	return rw.bw.Flush()
}

// exportOut opens --out: stdout for "-", else a temporary file beside FILE
// that commit renames over it (so a failed export never leaves half a
// file where a complete one was) and abort removes.
type exportOut struct {
	w      io.Writer
	path   string
	tmp    *os.File
	stdout bool
}

func openExportOut(path string, stdout io.Writer) (*exportOut, error) {
	if path == "" || path == "-" {
		return &exportOut{w: stdout, stdout: true}, nil
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, client.Errorf(client.KindInvalid, "--out %s is a directory: name a file", path)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, client.Errorf(client.KindInvalid, "--out %s cannot be written: %v", path, errUnwrap(err))
	}
	return &exportOut{w: f, path: path, tmp: f}, nil
}

func (o *exportOut) commit() error {
	if o.tmp == nil {
		return nil
	}
	err := o.tmp.Sync()
	if cerr := o.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp.Name(), o.path)
	}
	if err != nil {
		os.Remove(o.tmp.Name())
		return client.Errorf(client.KindInternal, "the export could not be written to %s: %v", o.path, errUnwrap(err))
	}
	return nil
}

func (o *exportOut) abort() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
	}
}

// inPeriod reports whether end is in [from, to) (zero times unbounded).
func inPeriod(end int64, from, to time.Time) bool {
	return (from.IsZero() || end >= from.Unix()) && (to.IsZero() || end < to.Unix())
}

// writeBill writes b as one row of billColumns.
func writeBill(rw *rowWriter, b *model.Bill) error {
	return rw.row(b.ID, b.Kind, b.Adjusts, rw.text(b.Reason), b.Provider, b.Consumer, b.Resource, b.ResourceType,
		rfc3339(b.Period.Start), rfc3339(b.Period.End), b.Currency, b.Scale, b.Amount, client.FormatMoney(b.Amount, b.Scale), len(b.Lines),
		b.Rule.Name, b.Rule.Version, b.Rule.Hash, b.GasUsed, b.InputHash, rfc3339(b.IssuedAt), b.IssuedBy.MSP, b.Tx, b.Overrun)
}

// writeBillLines writes b's lines as rows of billLineColumns, numbered
// from 1. A bill without lines gets one row, line 0, with the bill's
// amount: the rows' amounts always sum to the bills'.
func writeBillLines(rw *rowWriter, b *model.Bill) error {
	head := func(n int, item string, qty int64, unit string, up, amt int64) error {
		ups := ""
		if up != 0 {
			ups = client.FormatMoney(up, b.Scale)
		}
		return rw.row(b.ID, b.Kind, b.Adjusts, b.Provider, b.Consumer, b.Resource, b.ResourceType,
			rfc3339(b.Period.Start), rfc3339(b.Period.End), b.Currency, b.Scale, n, rw.text(item), qty, unit,
			up, ups, amt, client.FormatMoney(amt, b.Scale))
	}
	if len(b.Lines) == 0 {
		return head(0, "", 0, "", 0, b.Amount)
	}
	for i, l := range b.Lines {
		if err := head(i+1, l.Item, l.Quantity, l.Unit, l.UnitPrice, l.Amount); err != nil {
			return err
		}
	}
	return nil
}

func writeUsage(rw *rowWriter, r *exportResource, u *model.UsageRecord) error {
	return rw.row(u.ID, u.Resource, r.Type, r.Provider, r.Consumer, u.Metric, u.Quantity, rfc3339(u.Start), rfc3339(u.End), u.Adjusts, u.Reason)
}

// exportSummary is what an export to a file reports.
type exportSummary struct {
	File   string `json:"file"`
	Format string `json:"format"`
	Items  int    `json:"items"`
	Rows   int    `json:"rows"`
}

// runExport opens --out, writes the rows with body and reports.
func runExport(c *cli.Context, st *state, cols []string, what string, body func(cl *client.Client, rw *rowWriter) (items int, err error)) error {
	format := c.String("format")
	if format != "csv" && format != "jsonl" {
		return usageErr(c, "--format %q is not valid: it must be csv or jsonl", format)
	}
	return st.withClient(c, func(cl *client.Client, p *printer) error {
		out, err := openExportOut(c.String("out"), st.io.Stdout)
		if err != nil {
			return err
		}
		rw, err := newRowWriter(out.w, format, cols)
		if err != nil {
			out.abort()
			return err
		}
		items, err := body(cl, rw)
		if err == nil {
			err = rw.flush()
		}
		if err != nil {
			out.abort()
			return err
		}
		if err := out.commit(); err != nil {
			return err
		}
		if out.stdout {
			return nil
		}
		sum := exportSummary{File: out.path, Format: format, Items: items, Rows: rw.rows}
		if p.json {
			return p.JSON(sum)
		}
		p.Printf("Exported %s (%s) to %s as %s.\n", plural(items, what), plural(rw.rows, "row"), out.path, format)
		return nil
	})
}

func billExport(st *state) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "export the caller's org's bills (or their lines) as CSV or JSON lines, for spreadsheets and finance systems",
		UsageText: "fedmeter bill export [--format csv|jsonl] [--out FILE|-] [--lines] [--role provider|consumer] [--provider ORG] [--consumer ORG] [--resource ID] [--kind KIND] [--from TIME] [--to TIME]",
		Description: `Writes a row per bill (with --lines, a row per bill line) with fixed
columns, documented in cli/README.md ("Exports"). Money is never a float:
amount_minor is the integer amount in minor units, amount the same as an
exact decimal, with currency and scale. Times are RFC 3339, UTC.

Bills are those the caller's org issued (as provider), then those it
received (as consumer), each in period-end order; filters as bill list:
--role, --resource, --from/--to (period end in [from, to)), and --provider /
--consumer ORG (an MSP ID or org name) for one counterparty, --kind for one
kind (release, period, adjustment, credit). Correcting bills (adjustment,
credit) name the bill they adjust and the reason; their amount adds to the
original's (a credit is negative).

With --lines a bill without lines gives one row, line 0, with the bill's
amount, so the rows' amounts always sum to the bills'. Rows are written as
the ledger's pages arrive (500 bills at a time); --out FILE is replaced
only when the export is complete.`,
		Flags: append(exportFlags(),
			&cli.BoolFlag{Name: "lines", Usage: "a row per bill line instead of per bill"},
			&cli.StringFlag{Name: "role", Usage: "only as `ROLE`: provider (bills issued) or consumer (bills received)"},
			&cli.StringFlag{Name: "provider", Usage: "only bills issued by `ORG`"},
			&cli.StringFlag{Name: "consumer", Usage: "only bills received by `ORG`"},
			&cli.StringFlag{Name: "resource", Usage: "only the bills of resource `ID`"},
			&cli.StringFlag{Name: "kind", Usage: "only bills of `KIND`: release, period, adjustment or credit"},
			&cli.StringFlag{Name: "from", Usage: "only periods ending at or after `TIME`"},
			&cli.StringFlag{Name: "to", Usage: "only periods ending before `TIME`"},
		),
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			from, to, err := periodFlags(c)
			if err != nil {
				return err
			}
			switch c.String("role") {
			case "", "provider", "consumer":
			default:
				return usageErr(c, "--role %q is not valid: it must be provider or consumer", c.String("role"))
			}
			kind := c.String("kind")
			switch kind {
			case "", model.BillKindRelease, model.BillKindPeriod, model.BillKindAdjustment, model.BillKindCredit:
			default:
				return usageErr(c, "--kind %q is not valid: it must be %s, %s, %s or %s", kind, model.BillKindRelease, model.BillKindPeriod, model.BillKindAdjustment, model.BillKindCredit)
			}
			cols, write := billColumns, writeBill
			if c.Bool("lines") {
				cols, write = billLineColumns, writeBillLines
			}
			return runExport(c, st, cols, "bill", func(cl *client.Client, rw *rowWriter) (int, error) {
				sides, err := billSides(c, cl.MSPID())
				if err != nil {
					return 0, err
				}
				prov, cons, role, me := c.String("provider"), c.String("consumer"), c.String("role"), cl.MSPID()
				n := 0
				keep := func(bills iter.Seq2[model.Bill, error]) error {
					for b, err := range bills {
						if err != nil {
							return err
						}
						if (role == "provider" && b.Provider != me) || (role == "consumer" && b.Consumer != me) ||
							(kind != "" && b.Kind != kind) || (prov != "" && !usageimport.SameOrg(prov, b.Provider)) ||
							(cons != "" && !usageimport.SameOrg(cons, b.Consumer)) || !inPeriod(b.Period.End, from, to) {
							continue
						}
						n++
						if err := write(rw, &b); err != nil {
							return err
						}
					}
					return nil
				}
				if res := c.String("resource"); res != "" {
					return n, keep(cl.BillsSeq(c.Context, client.BillFilter{Resource: res}))
				}
				for _, side := range sides {
					if err := keep(cl.BillsSeq(c.Context, client.BillFilter{Role: side, From: from, To: to})); err != nil {
						return n, err
					}
				}
				return n, nil
			})
		},
	}
}

// billSides is which of the caller's lists (provider: bills it issued,
// consumer: bills it received) --role, --provider and --consumer leave.
func billSides(c *cli.Context, me string) ([]string, error) {
	var out []string
	for _, side := range []string{"provider", "consumer"} {
		if r := c.String("role"); r != "" && r != side {
			continue
		}
		// --provider X: the caller's provider side if X is the caller,
		// else its consumer side (bills X issued to the caller).
		if p := c.String("provider"); p != "" && usageimport.SameOrg(p, me) != (side == "provider") {
			continue
		}
		if k := c.String("consumer"); k != "" && usageimport.SameOrg(k, me) != (side == "consumer") {
			continue
		}
		out = append(out, side)
	}
	if len(out) == 0 {
		return nil, usageErr(c, "--role, --provider and --consumer select no bill %s can read: an org sees the bills it issued (it is the provider) and those it received (it is the consumer)", me)
	}
	return out, nil
}

// exportResource is what a usage export keeps of a resource.
type exportResource struct {
	ID, Type, Provider, Consumer string
}

func usageExport(st *state) *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "export usage records as CSV or JSON lines: of the resources named, or of every resource the caller's org can read",
		UsageText: "fedmeter usage export [RESOURCE...] [--format csv|jsonl] [--out FILE|-] [--role provider|consumer] [--metric NAME] [--from TIME] [--to TIME]",
		Description: `Writes a row per usage record with fixed columns (cli/README.md,
"Exports"): id, resource, resource_type, provider, consumer, metric,
quantity (an integer in the metric's unit), start and end (RFC 3339, UTC).

Without RESOURCE, every resource the caller's org provides or consumes
(--role: one side only), by resource ID; each resource's records in ledger
order. --metric keeps one metric, --from/--to the records whose end is in
[from, to) (the bill a record counts toward is the one whose period holds its
end). Rows are written as the ledger's pages arrive (500 records at a time);
--out FILE is replaced only when the export is complete.`,
		Flags: append(exportFlags(),
			&cli.StringFlag{Name: "role", Usage: "without RESOURCE: only the resources the caller's org has as `ROLE` (provider or consumer)"},
			&cli.StringFlag{Name: "metric", Usage: "only records of metric `NAME`"},
			&cli.StringFlag{Name: "from", Usage: "only records ending at or after `TIME`"},
			&cli.StringFlag{Name: "to", Usage: "only records ending before `TIME`"},
		),
		Action: func(c *cli.Context) error {
			ids := c.Args().Slice()
			from, to, err := periodFlags(c)
			if err != nil {
				return err
			}
			role := c.String("role")
			switch role {
			case "", "provider", "consumer":
			default:
				return usageErr(c, "--role %q is not valid: it must be provider or consumer", role)
			}
			if role != "" && len(ids) > 0 {
				return usageErr(c, "--role picks resources when none is named; drop it, or the RESOURCE arguments")
			}
			metric := c.String("metric")
			return runExport(c, st, usageColumns, "usage record", func(cl *client.Client, rw *rowWriter) (int, error) {
				res, err := exportResources(c.Context, cl, ids, role)
				if err != nil {
					return 0, err
				}
				n := 0
				for i := range res {
					r := &res[i]
					for u, err := range cl.UsageSeq(c.Context, r.ID) {
						if err != nil {
							return n, err
						}
						if (metric != "" && u.Metric != metric) || !inPeriod(u.End, from, to) {
							continue
						}
						n++
						if err := writeUsage(rw, r, &u); err != nil {
							return n, err
						}
					}
				}
				return n, nil
			})
		},
	}
}

// exportResources is the resources a usage export covers: those named (in
// the order given, each once), or every one the caller's org has in role
// ("" both), by ID.
func exportResources(ctx context.Context, cl *client.Client, ids []string, role string) ([]exportResource, error) {
	var out []exportResource
	if len(ids) > 0 {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			r, err := cl.Resource(ctx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, exportResource{r.ID, r.Type, r.Provider, r.Consumer})
		}
		return out, nil
	}
	seen := map[string]bool{}
	for _, side := range []string{"provider", "consumer"} {
		if role != "" && role != side {
			continue
		}
		for r, err := range cl.ResourcesSeq(ctx, side, "") {
			if err != nil {
				return nil, err
			}
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, exportResource{r.ID, r.Type, r.Provider, r.Consumer})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
