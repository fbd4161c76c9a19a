package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

func resourceCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "resource",
		Category: "Resources",
		Usage:    "resources a consumer holds at a provider (request, activate, release, get, list)",
		Description: `A resource goes requested (by the consumer, against its quota) -> active
(the provider provisioned it; billing starts) -> released (by either org;
an active resource is billed for the period since its last bill).`,
		Subcommands: []*cli.Command{resourceRequest(st), resourceActivate(st), resourceRelease(st), resourceGet(st), resourceList(st)},
	}
}

func resourceRequest(st *state) *cli.Command {
	return &cli.Command{
		Name:      "request",
		Usage:     "request a resource from a provider, for the caller's org (the consumer)",
		UsageText: "fedmeter resource request --provider MSPID --type TYPE --spec NAME=INT,... --days N [--id ID] [--count N] [--attr NAME=TEXT,...]",
		Description: `Example: fedmeter --as Org2/User1 resource request --provider Org1MSP --type ecs \
      --days 30 --spec vcpu=2,memory_gib=4,system_disk_gib=40,public_ips=1 --attr zone=bj-1
The spec must fit the remaining quota and the provider must have prices in
force for the type. Next: the provider activates it (resource activate).

--count N requests N identical resources (up to 100) in one transaction, a
cluster: the quota must hold all of them, or none is requested. With --id
ID they are ID-1 to ID-N; without, the contract derives their IDs. On
Fabric one consumer's requests from one provider update the same quota, so
separate requests commit one per block; --count makes them one.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "provider", Usage: "provider `MSPID`"},
			&cli.StringFlag{Name: "type", Usage: "resource `TYPE` (see fedmeter member list)"},
			&cli.StringSliceFlag{Name: "spec", Usage: "sizes, `NAME=INT` pairs"},
			&cli.StringFlag{Name: "days", Usage: "holding `N` days"},
			&cli.StringFlag{Name: "id", Usage: "resource `ID` (default: derived from the transaction; with --count, the IDs are ID-1 to ID-N)"},
			&cli.IntFlag{Name: "count", Value: 1, Usage: "request `N` identical resources in one transaction (1 to 100)"},
			&cli.StringSliceFlag{Name: "attr", Usage: "attributes, `NAME=TEXT` pairs"},
		},
		Action: func(c *cli.Context) error {
			req, err := resourceRequestArgs(c)
			if err != nil {
				return err
			}
			if c.IsSet("count") {
				ids := make([]string, c.Int("count"))
				for i := range ids {
					if req.ID != "" {
						ids[i] = req.ID + "-" + strconv.Itoa(i+1)
					}
				}
				return show(st, c, func(cl *client.Client) ([]chaincode.Resource, error) {
					return cl.RequestResources(c.Context, req, ids)
				}, func(p *printer, rs []chaincode.Resource) {
					got := make([]string, len(rs))
					for i, r := range rs {
						got[i] = r.ID
					}
					p.Printf("%s requested %d resources from %s in one transaction: %s\n", rs[0].Consumer, len(rs), rs[0].Provider, strings.Join(got, ", "))
					p.Printf("Next: %s activates them once provisioned: fedmeter --as <Org>/Agent1 resource activate %s\n", rs[0].Provider, strings.Join(got, " "))
				})
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Resource, error) {
				return cl.RequestResource(c.Context, req)
			}, func(p *printer, r *chaincode.Resource) {
				p.Printf("%s requested %s from %s.\n", r.Consumer, r.ID, r.Provider)
				printResource(p, r)
				p.Printf("Next: %s activates it once provisioned: fedmeter --as <Org>/Agent1 resource activate %s\n", r.Provider, r.ID)
			})
		},
	}
}

// resourceRequestArgs checks resource request's flags.
func resourceRequestArgs(c *cli.Context) (client.ResourceRequest, error) {
	var req client.ResourceRequest
	if _, err := args(c, 0, 0); err != nil {
		return req, err
	}
	for _, f := range []string{"provider", "type", "days"} {
		if c.String(f) == "" {
			return req, usageErr(c, "--%s is required", f)
		}
	}
	days, err := strconv.ParseInt(c.String("days"), 10, 64)
	if err != nil {
		return req, usageErr(c, "--days %q is not a whole number of days", c.String("days"))
	}
	spec, err := kvInts("--spec", c.StringSlice("spec"))
	if err != nil {
		return req, err
	}
	attrs, err := kvStrings("--attr", c.StringSlice("attr"))
	if err != nil {
		return req, err
	}
	if n := c.Int("count"); n < 1 || n > client.MaxRequestBatch {
		return req, usageErr(c, "--count %d is not valid: it must be 1 to %d", n, client.MaxRequestBatch)
	}
	return client.ResourceRequest{ID: c.String("id"), Provider: c.String("provider"),
		Type: c.String("type"), Spec: spec, Days: days, Attributes: attrs}, nil
}

func resourceActivate(st *state) *cli.Command {
	return &cli.Command{
		Name:      "activate",
		Usage:     "record that the provider provisioned requested resources: billing starts",
		UsageText: "fedmeter resource activate ID [ID...]",
		Description: `Several IDs (a cluster requested with --count) are activated in parallel, 16
at a time, each in its own transaction; each is reported, and the exit
status is the first failure's.`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, -1, "ID")
			if err != nil {
				return err
			}
			if len(a) > 1 {
				return st.withClient(c, func(cl *client.Client, p *printer) error { return activateMany(c, cl, p, a) })
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Resource, error) {
				return cl.ActivateResource(c.Context, a[0])
			}, func(p *printer, r *chaincode.Resource) {
				p.Printf("%s activated %s: holding and billing start now.\n", r.Provider, r.ID)
				printResource(p, r)
				p.Printf("Next: its metering agent submits usage (fedmeter usage submit --help).\n")
			})
		},
	}
}

// released is what resource release shows: the resource, and its bill
// (issued or pending).
type released struct {
	Resource chaincode.ReleasedResource `json:"resource"`
	Bill     *chaincode.Bill            `json:"bill,omitempty"`
	Pending  *chaincode.PendingBill     `json:"pending_bill,omitempty"`
	overrun  int64
}

func resourceRelease(st *state) *cli.Command {
	return &cli.Command{
		Name:      "release",
		Usage:     "release a resource; an active one is billed for the period since its last bill",
		UsageText: "fedmeter resource release ID",
		Description: `Either org may release. The bill is computed on the ledger by the rule active
for the resource's type. If the rule fails (a trap, out of gas, a bad output,
a revoked rule), the release goes through all the same: the resource is
released and its quota returned, and its bill is left pending with the rule's
error. Once the members put a working rule in place (fedmeter rule revoke,
then rule activate), the provider issues the bill: fedmeter bill close ID.

Billing stops at the allocation's expiry (activation + --days), as usage does:
a resource released late is billed up to its expiry, and the time it was held
after that is shown on the bill (overrun), not charged.`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*released, error) {
				rel, err := cl.ReleaseResource(c.Context, a[0])
				if err != nil {
					return nil, err
				}
				out := &released{Resource: rel.Resource, Pending: rel.Pending, overrun: rel.Overrun}
				if rel.Bill != nil {
					if out.Bill, err = issuedBill(c.Context, cl, rel.Bill); err != nil {
						return nil, err
					}
				}
				return out, nil
			}, printReleased)
		},
	}
}

func printReleased(p *printer, rel *released) {
	p.Printf("Released %s; its quota is returned.\n", rel.Resource.ID)
	if rel.overrun > 0 {
		p.Printf("It was held %s after its allocation expired; that time is not billed.\n", overrun(rel.overrun))
	}
	if rel.Pending != nil {
		p.Printf("Its bill for %s to %s is PENDING: the rule failed: %s\n", ts(rel.Pending.Start), ts(rel.Pending.End), rel.Pending.Reason)
		p.Printf("Once the members put a working rule in place (fedmeter rule revoke, then rule activate),\n")
		p.Printf("the provider issues it: fedmeter bill close %s\n", rel.Resource.ID)
		return
	}
	b := rel.Bill
	if b == nil {
		p.Printf("There is no bill: it was never activated, or no time has passed since its activation or its last bill.\n")
		return
	}
	p.Printf("\n")
	printBill(p, b)
	p.Printf("\nAnyone of %s and %s can check it offline: fedmeter bill verify %s\n", b.Provider, b.Consumer, b.ID)
}

func resourceGet(st *state) *cli.Command {
	return &cli.Command{
		Name:      "get",
		Usage:     "show a resource",
		UsageText: "fedmeter resource get ID",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "ID")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Resource, error) {
				return cl.Resource(c.Context, a[0])
			}, func(p *printer, r *chaincode.Resource) {
				p.Printf("Resource %s\n", r.ID)
				printResource(p, r)
			})
		},
	}
}

func resourceList(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the caller's org's resources, as provider and consumer",
		UsageText: "fedmeter resource list [--role provider|consumer] [--status requested|active|released]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "role", Usage: "only as `ROLE`: provider or consumer"},
			&cli.StringFlag{Name: "status", Usage: "only with `STATUS`: requested, active or released"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			roles := []string{"provider", "consumer"}
			switch c.String("role") {
			case "":
			case "provider", "consumer":
				roles = []string{c.String("role")}
			default:
				return usageErr(c, "--role %q is not valid: it must be provider or consumer", c.String("role"))
			}
			var rows [][]string
			return show(st, c, func(cl *client.Client) ([]chaincode.Resource, error) {
				var all []chaincode.Resource
				for _, role := range roles {
					rs, err := cl.Resources(c.Context, role, c.String("status"))
					if err != nil {
						return nil, err
					}
					all = append(all, rs...)
					for _, r := range rs {
						other := r.Consumer
						if role == "consumer" {
							other = r.Provider
						}
						rows = append(rows, []string{r.ID, r.Type, role, other, r.Status, ints(r.Spec), fmt.Sprint(r.Bills)})
					}
				}
				return nonNil(all, nil)
			}, func(p *printer, _ []chaincode.Resource) {
				p.Table("No resources.", []string{"ID", "TYPE", "ROLE", "COUNTERPARTY", "STATUS", "SPEC", "BILLS"}, rows)
			})
		},
	}
}

func printResource(p *printer, r *chaincode.Resource) {
	activated, released := "", ""
	if r.Activated != nil {
		activated = ts(r.Activated.Time) + " (expires " + ts(r.ExpiresAt) + ")"
	}
	if r.Released != nil {
		released = ts(r.Released.Time)
	}
	billed := ""
	if r.Activated != nil && r.Bills > 0 {
		billed = fmt.Sprintf("up to %s, %d bills", ts(r.BilledTo), r.Bills)
	}
	p.KV(
		"id", r.ID,
		"type", r.Type,
		"provider", r.Provider,
		"consumer", r.Consumer,
		"status", r.Status,
		"spec", ints(r.Spec),
		"attributes", strs(r.Attributes),
		"days", fmt.Sprint(r.Days),
		"requested", ts(r.Requested.Time),
		"activated", activated,
		"released", released,
		"billed", billed,
	)
}

func usageCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "usage",
		Category: "Resources",
		Usage:    "usage records from a provider's metering agent (submit, correct, import accounting records, list, export)",
		Subcommands: []*cli.Command{
			{
				Name:      "submit",
				Usage:     "submit usage records from a file or stdin, in batches; safe to rerun",
				UsageText: "fedmeter usage submit [FILE|-] [--format jsonl|csv] [--batch N]",
				Description: `Reads records with resource, metric, quantity, start and end (times in Unix
seconds or RFC 3339) and an optional id, as JSON lines (or one JSON array):
  {"id":"u-1","resource":"ecs-1","metric":"egress_gib","quantity":3,"start":"2026-01-01T00:00:00Z","end":"2026-01-01T10:00:00Z"}
or CSV with a header line:
  id,resource,metric,quantity,start,end
  u-1,ecs-1,egress_gib,3,2026-01-01T00:00:00Z,2026-01-01T10:00:00Z

The whole file is checked before anything is sent; a malformed line is named
(exit 1). Records go in batches (each all or nothing). Each record ID is kept
once per provider and end time: a record the ledger already has is a
duplicate and changes nothing, so after a failure, rerun the same command
(a record sent wrong is corrected with fedmeter usage adjust, not resent). A record without an id
gets one derived from its resource, metric, start and end. Submitted by an
identity of the resources' provider, e.g. --as Org1/Agent1. A progress bar is
drawn (on stderr) when run on a terminal, never in scripts or pipes.`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Usage: "`FORMAT` jsonl or csv (default: by file extension or content)"},
					&cli.IntFlag{Name: "batch", Value: 500, Usage: "records per transaction, `N` (at most 1000)"},
					&cli.BoolFlag{Name: "no-progress", Usage: "never draw the progress bar"},
				},
				Action: func(c *cli.Context) error {
					a, err := args(c, 0, 1, "[FILE|-]")
					if err != nil {
						return err
					}
					name, in := "stdin", st.io.Stdin
					if len(a) == 0 && st.io.Terminal != nil && st.io.Terminal(st.io.Stdin) {
						return usageErr(c, "%s needs a FILE, or - to read the records from stdin", c.Command.HelpName)
					}
					if len(a) == 1 && a[0] != "-" {
						f, err := os.Open(a[0])
						if err != nil {
							return client.Errorf(client.KindInvalid, "the usage file %s cannot be read: %v", a[0], errUnwrap(err))
						}
						defer f.Close()
						name, in = a[0], f
					}
					if in == nil {
						in = strings.NewReader("")
					}
					uf, err := client.ReadUsage(in, name, c.String("format"))
					if err != nil {
						return err
					}
					if b := c.Int("batch"); b < 1 || b > client.MaxUsageBatch {
						return usageErr(c, "--batch %d is not valid: it must be between 1 and %d", b, client.MaxUsageBatch)
					}
					return st.withClient(c, func(cl *client.Client, p *printer) error {
						o := client.UsageOptions{BatchSize: c.Int("batch")}
						var bar *progress
						if !p.json && !c.Bool("no-progress") && st.io.Terminal != nil && st.io.Terminal(st.io.Stdout) && st.io.Terminal(st.io.Stderr) {
							bar = &progress{w: st.io.Stderr, label: "usage " + name}
							o.Progress = bar.update
						}
						rep, err := cl.SubmitUsageFile(c.Context, uf, o)
						bar.done()
						if err != nil {
							return err
						}
						if p.json {
							return p.JSON(rep)
						}
						p.Printf("Submitted %s: %d records in %s: %d accepted, %d already on the ledger (duplicates, not counted again).\n",
							name, rep.Records, plural(rep.Batches, "batch"), rep.Accepted, rep.Duplicates)
						if rep.Unchanged > 0 {
							what := "changed nothing (all duplicates)"
							if c.String("profile") == "" {
								what += ": the embedded ledger wrote no block for " + map[bool]string{true: "it", false: "them"}[rep.Unchanged == 1]
							}
							p.Printf("%s %s.\n", plural(rep.Unchanged, "batch"), what)
						}
						if uf.Derived > 0 {
							p.Printf("%d records had no id; each got one derived from its content, so rerunning stays safe.\n", uf.Derived)
						}
						return nil
					})
				},
			},
			{
				Name:      "list",
				Usage:     "list a resource's usage records",
				UsageText: "fedmeter usage list RESOURCE",
				Action: func(c *cli.Context) error {
					a, err := args(c, 1, 1, "RESOURCE")
					if err != nil {
						return err
					}
					return st.withClient(c, func(cl *client.Client, p *printer) error {
						recs, err := cl.Usage(c.Context, a[0])
						if err != nil {
							return err
						}
						if p.json {
							if recs == nil {
								recs = []chaincode.UsageRecord{}
							}
							return p.JSON(recs)
						}
						// Corrections (usage adjust, usage void) add a column
						// saying what each corrects and why.
						head := []string{"ID", "METRIC", "QUANTITY", "START", "END"}
						corrected := slices.ContainsFunc(recs, func(u chaincode.UsageRecord) bool { return u.Adjusts != "" })
						if corrected {
							head = append(head, "CORRECTS")
						}
						rows := make([][]string, len(recs))
						for i, u := range recs {
							rows[i] = []string{u.ID, u.Metric, fmt.Sprint(u.Quantity), ts(u.Start), ts(u.End)}
							if corrected {
								note := ""
								if u.Adjusts != "" {
									note = u.Adjusts + ": " + u.Reason
								}
								rows[i] = append(rows[i], note)
							}
						}
						p.Table("No usage records for "+a[0]+".", head, rows)
						return nil
					})
				},
			},
			usageAdjustCommand(st),
			usageVoidCommand(st),
			usageImportCommand(st),
			usageExport(st),
		},
	}
}

// progress draws a one-line progress bar on a terminal.
type progress struct {
	w     io.Writer
	label string
	drawn bool
}

func (b *progress) update(done, total int) {
	const width = 30
	n := 0
	if total > 0 {
		n = done * width / total
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d records", b.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
	b.drawn = true
}

func (b *progress) done() {
	if b != nil && b.drawn {
		fmt.Fprintf(b.w, "\n")
	}
}

func errUnwrap(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// activateMany activates ids, 16 at a time, and reports each activated
// one; the failures make one error, of the first failure's kind (which sets
// the exit status), naming each.
func activateMany(c *cli.Context, cl *client.Client, p *printer, ids []string) error {
	rs := make([]*chaincode.Resource, len(ids))
	errs := make([]error, len(ids))
	// Every ID is tried: f keeps its error instead of stopping the others.
	if err := parallel(c.Context, len(ids), 16, func(i int) error {
		rs[i], errs[i] = cl.ActivateResource(c.Context, ids[i])
		return nil
	}); err != nil {
		return err
	}
	var first error
	var failures []string
	done := []*chaincode.Resource{}
	for i, id := range ids {
		if errs[i] != nil {
			if first == nil {
				first = errs[i]
			}
			msg := errs[i].Error()
			var ce *client.Error
			if errors.As(errs[i], &ce) && ce.Msg != "" {
				msg = ce.Msg
			}
			failures = append(failures, fmt.Sprintf("%s (%s)", id, strings.TrimSuffix(msg, ".")))
			continue
		}
		done = append(done, rs[i])
		p.Printf("%s activated %s.\n", rs[i].Provider, id)
	}
	if p.json {
		if err := p.JSON(done); err != nil {
			return err
		}
	}
	if first != nil {
		kind := client.KindInternal
		var ce *client.Error
		if errors.As(first, &ce) {
			kind = ce.Kind
		}
		return client.Errorf(kind, "%d of %d resources were not activated: %s", len(failures), len(ids), strings.Join(failures, "; "))
	}
	p.Printf("%d resources activated: holding and billing start now.\n", len(ids))
	return nil
}
