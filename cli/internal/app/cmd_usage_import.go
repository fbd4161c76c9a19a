package app

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/usageimport"
	"github.com/urfave/cli/v2"
)

// maxListedProblems is how many problems the text output lists; JSON
// lists them all.
const maxListedProblems = 50

func usageImportCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "import accounting records (APEL, StAR, OGF UR, CloudEvents) as usage, through a mapping file; safe to rerun",
		UsageText: "fedmeter usage import FILE... --format apel|apel-accelerator|apel-ip|star|ogf-ur|cloudevents --map MAPPING.yaml [--dry-run [--records]] [--skip-unmapped] [--batch N]",
		Description: `Reads the accounting records clouds and grids already write and submits them
as usage records, like usage submit:
  apel              APEL-cloud-message v0.4 (cASO's CloudRecord: VMUUID, WallDuration, CpuDuration, ...)
  apel-accelerator  APEL accelerator records v0.1 (cASO's JSON message, or the key: value text form)
  apel-ip           APEL public IP records v0.2 (cASO's JSON message): a project's IP count at an
                    instant, standing for the mapping's interval (interval: 1h)
  star              EMI StAR storage records (XML)
  ogf-ur            OGF Usage Record 2.0 (XML)
  cloudevents       CloudEvents 1.0 JSON: one event, a batch (a JSON array) or one per line

The mapping file (YAML) has a section per format that says which field gives
the resource (its ID, a table, or a resource attribute looked up on the
ledger), which site or project is which provider org, and which fields give
which metrics in which units:

  apel:
    provider: {field: SiteName, orgs: {FEDCLOUD-ALPHA: Org1MSP}}
    resource: {field: VMUUID, attribute: vmuuid}
    where: [{field: Status, in: [completed]}]
    metrics:
      - {metric: cpu_seconds, field: CpuDuration, from: s}
      - {metric: memory_gib_seconds, field: Memory, from: MiB, to: GiB, times: WallDuration}

Every file is read and mapped before anything is sent. Each record that cannot
be imported is listed by file and line (or element): malformed, mapped to no
resource or provider, in the wrong unit, overflowing, a conflicting repeat;
then nothing is sent (exit 1). Exact repeats are skipped and listed.
--skip-unmapped sends the rest when the only problems are records that map to
no resource or provider (other projects' VMs, say).

--dry-run shows what would be sent, per resource and metric (--records: also
each usage record and the line it comes from), and sends nothing. Records get IDs derived from resource, metric and period (or, with
ids: source in the mapping, from the source record's identity), so importing
the same file again changes nothing. Submitted by an identity of the
provider, e.g. --as Org1/Agent1. See cli/README.md, "Importing accounting
records", for the mapping file's reference.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Usage: "the files' `FORMAT`: " + strings.Join(usageimport.Formats, ", ")},
			&cli.StringFlag{Name: "map", Usage: "the mapping `FILE` (YAML)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be sent, per resource and metric; send nothing"},
			&cli.BoolFlag{Name: "records", Usage: "with --dry-run, also list every usage record and the line it comes from"},
			&cli.BoolFlag{Name: "skip-unmapped", Usage: "leave out records that map to no resource or provider instead of refusing the import"},
			&cli.IntFlag{Name: "batch", Value: 500, Usage: "records per transaction, `N` (at most 1000)"},
		},
		Action: func(c *cli.Context) error {
			files := c.Args().Slice()
			if len(files) == 0 {
				return usageErr(c, "%s needs at least one FILE", c.Command.HelpName)
			}
			format := c.String("format")
			if format == "" {
				return usageErr(c, "--format is required: one of %s", strings.Join(usageimport.Formats, ", "))
			}
			known := false
			for _, f := range usageimport.Formats {
				known = known || f == format
			}
			if !known {
				return usageErr(c, "--format %q is not valid: it must be one of %s", format, strings.Join(usageimport.Formats, ", "))
			}
			if c.String("map") == "" {
				return usageErr(c, "--map is required: the mapping file that says which field gives the resource and which give the metrics")
			}
			if b := c.Int("batch"); b < 1 || b > client.MaxUsageBatch {
				return usageErr(c, "--batch %d is not valid: it must be between 1 and %d", b, client.MaxUsageBatch)
			}
			mb, err := os.ReadFile(c.String("map"))
			if err != nil {
				return client.Errorf(client.KindInvalid, "the mapping file %s cannot be read: %v", c.String("map"), pathErr(err))
			}
			m, err := usageimport.LoadMapping(mb)
			if err != nil {
				return client.Errorf(client.KindInvalid, "the mapping file %s is not valid: %v", c.String("map"), err).
					WithHint("see cli/README.md, \"Importing accounting records\", for the mapping file's reference")
			}
			rule := m.Rule(format)
			if rule == nil {
				return client.Errorf(client.KindInvalid, "the mapping file %s has no %s section", c.String("map"), format).
					WithHint("add a section named %s with resource, metrics and (optionally) provider", format)
			}
			// Read every file.
			var recs []usageimport.Record
			var probs []usageimport.Problem
			for _, name := range files {
				var data []byte
				if name == "-" {
					in := st.io.Stdin
					if in == nil {
						in = strings.NewReader("")
					}
					data, err = io.ReadAll(io.LimitReader(in, usageimport.MaxFileSize+1))
					name = "stdin"
				} else {
					data, err = readLimited(name)
				}
				if err != nil {
					return client.Errorf(client.KindInvalid, "the accounting file %s cannot be read: %v", name, pathErr(err))
				}
				r, p := usageimport.Parse(format, name, data)
				recs = append(recs, r...)
				probs = append(probs, p...)
			}
			needLedger := !c.Bool("dry-run") || rule.Resource.Attribute != ""
			if !needLedger {
				plan, err := m.Apply(format, recs, nil)
				if err != nil {
					return client.Errorf(client.KindInvalid, "%v", err)
				}
				return importReport(c, st.printer(c), st, files, plan, probs, nil)
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				var resolve usageimport.Resolver
				if rule.Resource.Attribute != "" {
					resolve = ledgerResolver(c, cl)
				}
				plan, err := m.Apply(format, recs, resolve)
				if err != nil {
					return client.Errorf(client.KindInvalid, "%v", err)
				}
				// Usage is submitted by its provider: records the mapping
				// gives to another org cannot be sent by this identity.
				me := cl.MSPID()
				kept := plan.Usage[:0]
				for _, u := range plan.Usage {
					if u.Provider != "" && !usageimport.SameOrg(u.Provider, me) {
						plan.Problem = append(plan.Problem, usageimport.Problem{File: u.File, Line: u.Line, Element: u.Element, Kind: usageimport.Unmapped,
							Msg: fmt.Sprintf("the mapping gives %s of %s to %s, and this identity is of %s: import that org's records as one of its identities", u.Metric, u.Resource, u.Provider, me)})
						continue
					}
					kept = append(kept, u)
				}
				plan.Usage = kept
				return importReport(c, p, st, files, plan, probs, cl)
			})
		},
	}
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read into a buffer of the file's size at once, rather than one that
	// doubles as it goes (a copy of everything read at each step).
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= usageimport.MaxFileSize {
		buf.Grow(int(fi.Size()) + 1)
	}
	_, err = buf.ReadFrom(io.LimitReader(f, usageimport.MaxFileSize+1))
	return buf.Bytes(), err
}

func pathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// ledgerResolver finds resources by attribute among the caller's org's
// resources as provider, listed once.
func ledgerResolver(c *cli.Context, cl *client.Client) usageimport.Resolver {
	var index map[string]map[string][]string // attribute -> value -> IDs
	var listErr error
	return func(provider, attr, value string) (string, string, error) {
		me := cl.MSPID()
		if provider != "" && !usageimport.SameOrg(provider, me) {
			return "", "", fmt.Errorf("the mapping gives the record to %s, whose resources an identity of %s cannot look up", provider, me)
		}
		if index == nil && listErr == nil {
			var rs []chaincode.Resource
			rs, listErr = cl.Resources(c.Context, "provider", "")
			index = map[string]map[string][]string{}
			for _, r := range rs {
				for k, v := range r.Attributes {
					if index[k] == nil {
						index[k] = map[string][]string{}
					}
					index[k][v] = append(index[k][v], r.ID)
				}
			}
		}
		if listErr != nil {
			return "", "", fmt.Errorf("the resources of %s cannot be listed: %v", me, listErr)
		}
		ids := index[attr][value]
		switch len(ids) {
		case 0:
			return "", "", fmt.Errorf("no resource of %s has attribute %s=%s", me, attr, value)
		case 1:
			return ids[0], me, nil
		}
		sort.Strings(ids)
		return "", "", fmt.Errorf("resources %s of %s all have attribute %s=%s: it must name one", strings.Join(ids, ", "), me, attr, value)
	}
}

// importSummary is one resource and metric of a plan.
type importSummary struct {
	Resource string `json:"resource"`
	Metric   string `json:"metric"`
	Provider string `json:"provider,omitempty"`
	Records  int    `json:"records"`
	Quantity int64  `json:"quantity"`
	Start    int64  `json:"start"`
	End      int64  `json:"end"`
	// Overflow: the records' quantities sum past int64 (each fits).
	Overflow bool `json:"overflow,omitempty"`
}

func summarize(us []usageimport.Usage) []importSummary {
	idx := map[[2]string]int{}
	var out []importSummary
	for _, u := range us {
		k := [2]string{u.Resource, u.Metric}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, importSummary{Resource: u.Resource, Metric: u.Metric, Provider: u.Provider, Start: u.Start, End: u.End})
		}
		s := &out[i]
		s.Records++
		if s.Quantity > (1<<63-1)-u.Quantity {
			s.Overflow = true
		} else {
			s.Quantity += u.Quantity
		}
		s.Start = min(s.Start, u.Start)
		s.End = max(s.End, u.End)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Resource != out[j].Resource {
			return out[i].Resource < out[j].Resource
		}
		return out[i].Metric < out[j].Metric
	})
	return out
}

type importResult struct {
	Format   string                `json:"format"`
	Files    []string              `json:"files"`
	DryRun   bool                  `json:"dry_run"`
	Records  int                   `json:"records"`
	Usage    int                   `json:"usage"`
	Skipped  int                   `json:"skipped"`
	Zero     int                   `json:"zero"`
	Summary  []importSummary       `json:"summary"`
	Problems []usageimport.Problem `json:"problems"`
	Sent     []usageimport.Usage   `json:"would_send,omitempty"`
	Report   *client.UsageReport   `json:"submitted,omitempty"`
}

func importReport(c *cli.Context, p *printer, st *state, files []string, plan *usageimport.Plan, parseProbs []usageimport.Problem, cl *client.Client) error {
	all := append(parseProbs, plan.Problem...)
	usageimport.SortProblems(all)
	skipUnmapped := c.Bool("skip-unmapped")
	fatal, unmapped := 0, 0
	for _, x := range all {
		switch {
		case !x.Fatal():
		case x.Kind == usageimport.Unmapped && skipUnmapped:
			unmapped++
		default:
			fatal++
		}
	}
	if all == nil {
		all = []usageimport.Problem{}
	}
	dry := c.Bool("dry-run")
	res := importResult{Format: plan.Format, Files: files, DryRun: dry, Records: plan.Records, Usage: len(plan.Usage),
		Skipped: plan.Skipped, Zero: plan.Zero, Summary: summarize(plan.Usage), Problems: all}
	if res.Summary == nil {
		res.Summary = []importSummary{}
	}
	// The problems, listed (text, on stdout: they are the command's
	// report) before the verdict.
	if !p.json && len(all) > 0 {
		w := st.io.Stdout
		for i, x := range all {
			if i == maxListedProblems {
				fmt.Fprintf(w, "... and %d more (-o json lists them all)\n", len(all)-i)
				break
			}
			fmt.Fprintf(w, "%s\n", x.Error())
		}
	}
	if fatal > 0 {
		if p.json {
			_ = p.JSON(res)
		}
		what := "nothing was submitted"
		if dry {
			what = "a run without --dry-run would submit nothing"
		}
		e := client.Errorf(client.KindInvalid, "the accounting records have %s (listed above); %s", plural(fatal, "problem"), what)
		e.Hint = "fix the records or the mapping and import again"
		if fatal == countKind(all, usageimport.Unmapped) {
			e.Hint = "records that map to no resource or provider can be left out with --skip-unmapped"
		}
		return e
	}
	if len(plan.Usage) == 0 && unmapped > 0 {
		return client.Errorf(client.KindInvalid, "every usage record was left out: %s map to no resource or provider (listed above); nothing to submit", plural(unmapped, "record")).
			WithHint("check the mapping's resource and provider sections, and that --as is an identity of the provider")
	}
	if dry {
		if p.json {
			res.Sent = plan.Usage
			return p.JSON(res)
		}
		if c.Bool("records") {
			rows := make([][]string, len(plan.Usage))
			for i, u := range plan.Usage {
				id := u.ID
				if id == "" {
					id = "(derived)"
				}
				rows[i] = []string{u.Resource, u.Metric, fmt.Sprint(u.Quantity), ts(u.Start), ts(u.End), id, u.Where()}
			}
			p.Table("No usage records.", []string{"RESOURCE", "METRIC", "QUANTITY", "START", "END", "ID", "FROM"}, rows)
			p.Printf("\n")
		}
		printImportSummary(p, res.Summary)
		p.Printf("Dry run: %s from %s would be sent as %s (%d left out by where or repeated, %d of quantity 0, %d unmapped); nothing was sent.\n",
			plural(plan.Records, "accounting record"), plural(len(files), "file"), plural(len(plan.Usage), "usage record"), plan.Skipped, plan.Zero, unmapped)
		return nil
	}
	// Submit, one file at a time so that refusals name the file's line.
	rep := &client.UsageReport{}
	byFile := map[string]*client.UsageFile{}
	var order []string
	for _, u := range plan.Usage {
		f := byFile[u.File]
		if f == nil {
			f = &client.UsageFile{Name: u.File}
			byFile[u.File] = f
			order = append(order, u.File)
		}
		r := chaincode.UsageRecord{ID: u.ID, Resource: u.Resource, Metric: u.Metric, Quantity: u.Quantity, Start: u.Start, End: u.End}
		if r.ID == "" {
			r.ID = client.DeriveUsageID(r)
			f.Derived++
		}
		f.Records = append(f.Records, r)
		f.Lines = append(f.Lines, u.Line)
	}
	for _, name := range order {
		r, err := cl.SubmitUsageFile(c.Context, byFile[name], client.UsageOptions{BatchSize: c.Int("batch")})
		if r != nil {
			rep.Records += r.Records
			rep.Accepted += r.Accepted
			rep.Duplicates += r.Duplicates
			rep.Batches += r.Batches
			rep.Unchanged += r.Unchanged
		}
		if err != nil {
			return err
		}
	}
	if p.json {
		res.Report = rep
		return p.JSON(res)
	}
	printImportSummary(p, res.Summary)
	p.Printf("Imported %s from %s: %s in %s: %d accepted, %d already on the ledger (duplicates, not counted again).\n",
		plural(plan.Records, "accounting record"), plural(len(files), "file"), plural(rep.Records, "usage record"), plural(rep.Batches, "batch"), rep.Accepted, rep.Duplicates)
	if plan.Skipped+plan.Zero+unmapped > 0 {
		p.Printf("Left out: %d by where or repeated, %d of quantity 0, %d unmapped.\n", plan.Skipped, plan.Zero, unmapped)
	}
	return nil
}

func countKind(ps []usageimport.Problem, kind string) int {
	n := 0
	for _, x := range ps {
		if x.Kind == kind {
			n++
		}
	}
	return n
}

func printImportSummary(p *printer, sum []importSummary) {
	rows := make([][]string, len(sum))
	for i, s := range sum {
		q := fmt.Sprint(s.Quantity)
		if s.Overflow {
			q = "(over int64)"
		}
		rows[i] = []string{s.Resource, s.Metric, s.Provider, fmt.Sprint(s.Records), q, ts(s.Start), ts(s.End)}
	}
	p.Table("No usage records.", []string{"RESOURCE", "METRIC", "PROVIDER", "RECORDS", "QUANTITY", "FROM", "TO"}, rows)
}
