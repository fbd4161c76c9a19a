package app

import (
	"context"
	"errors"
	"os"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// rule activate, activations, revoke, quote and code: approved rules in use.

func ruleActivate(st *state) *cli.Command {
	return &cli.Command{
		Name:      "activate",
		Usage:     "bind a resource type to an approved rule from a time on",
		UsageText: "fedmeter rule activate TYPE REF [--from TIME] [--until TIME]",
		Description: `Bills of TYPE whose period ends at or after --from (default now) are
computed by the rule REF. Earlier activations stay, so past bills can be
recomputed. Admins of member orgs; the rule must be approved and list TYPE.

With --until the activation ends: it holds in [--from, --until). A bill
whose period ends at or after --until finds no active rule (an earlier
activation does not come back) and a release then leaves its bill pending
until an admin activates a rule again.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "effective `TIME` (YYYY-MM-DD, RFC 3339 or Unix seconds; default now; no backdating)"},
			&cli.StringFlag{Name: "until", Usage: "end `TIME`, exclusive (YYYY-MM-DD, RFC 3339 or Unix seconds; default none)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "TYPE", "REF")
			if err != nil {
				return err
			}
			from, err := timeArgFlag(c, "from")
			if err != nil {
				return err
			}
			until, err := timeArgFlag(c, "until")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				activate := cl.ActivateRule
				if until != "" {
					activate = func(ctx context.Context, typ, ref, from string) (*chaincode.Activations, error) {
						return cl.ActivateRuleUntil(ctx, typ, ref, from, until)
					}
				}
				acts, err := activate(c.Context, a[0], a[1], from)
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(acts)
				}
				p.Printf("Activated. Bills of type %s use, by the end of their period:\n", acts.Type)
				printActivations(p, acts)
				return nil
			})
		},
	}
}

func printActivations(p *printer, acts *chaincode.Activations) {
	rows := make([][]string, len(acts.Entries))
	for i, e := range acts.Entries {
		rows[i] = []string{"  " + ts(e.EffectiveFrom), ts(e.EffectiveTo), e.Name + "@" + e.Version, short(e.Hash), e.By.MSP}
	}
	p.Table("  (no activations)", []string{"  FROM", "UNTIL", "RULE", "HASH", "BY"}, rows)
}

func ruleActivations(st *state) *cli.Command {
	return &cli.Command{
		Name:      "activations",
		Usage:     "list a resource type's activations (which rule bills it when)",
		UsageText: "fedmeter rule activations TYPE",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "TYPE")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				acts, err := cl.Activations(c.Context, a[0])
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(acts)
				}
				p.Printf("Activations of type %s:\n", acts.Type)
				printActivations(p, acts)
				return nil
			})
		},
	}
}

func ruleRevoke(st *state) *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "open the members' vote on revoking an approved rule",
		UsageText: "fedmeter rule revoke REF --reason TEXT",
		Description: `Revocation is a vote too: this opens it (an admin of a member org); the
orgs then vote with fedmeter rule vote approve|reject REF --revocation.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "reason", Usage: "why, as `TEXT` (required)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "REF")
			if err != nil {
				return err
			}
			if c.String("reason") == "" {
				return usageErr(c, "--reason is required: say why the rule should be revoked")
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				prop, r, err := cl.ProposeRevocation(c.Context, a[0], c.String("reason"))
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(map[string]any{"rule": r, "proposal": prop})
				}
				p.Printf("Opened the vote on revoking rule %s %s.\n", r.Name, r.Version)
				p.KV("vote", votes(prop), "reason", prop.Reason)
				p.Printf("Next: fedmeter --as <Org>/Admin rule vote approve %s@%s --revocation\n", r.Name, r.Version)
				return nil
			})
		},
	}
}

func ruleQuote(st *state) *cli.Command {
	return &cli.Command{
		Name:      "quote",
		Usage:     "price a hypothetical resource with the active (or a named) rule; writes nothing",
		UsageText: "fedmeter rule quote --provider MSPID --type TYPE [--spec k=v,...] [--usage k=v,...] --from TIME --to TIME [--rule REF]",
		Description: `The price calculator: the provider's prices in force at --from, the caller's
quota from the provider, the spec and usage given, and the rule active for
the type at --to, or the rule --rule names:
  approved           any member identity
  proposed           admins of member orgs (the voters: try it before voting)
                     and the identity that uploaded it; others are refused (exit 3)
  revoked, rejected  never (exit 1): such a rule does not run on the ledger`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "provider", Usage: "provider `MSPID`"},
			&cli.StringFlag{Name: "type", Usage: "resource `TYPE`"},
			&cli.StringSliceFlag{Name: "spec", Usage: "spec `NAME=INT` pairs"},
			&cli.StringSliceFlag{Name: "usage", Usage: "usage `NAME=INT` pairs"},
			&cli.StringFlag{Name: "from", Usage: "period start `TIME` (YYYY-MM-DD, RFC 3339 or Unix seconds)"},
			&cli.StringFlag{Name: "to", Usage: "period end `TIME`"},
			&cli.StringFlag{Name: "rule", Usage: "rule `REF` (default: the active rule)"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			for _, f := range []string{"provider", "type", "from", "to"} {
				if c.String(f) == "" {
					return usageErr(c, "--%s is required", f)
				}
			}
			spec, err := kvInts("--spec", c.StringSlice("spec"))
			if err != nil {
				return err
			}
			usage, err := kvInts("--usage", c.StringSlice("usage"))
			if err != nil {
				return err
			}
			from, err := timeArgFlag(c, "from")
			if err != nil {
				return err
			}
			to, err := timeArgFlag(c, "to")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				q, err := cl.Quote(c.Context, client.QuoteRequest{Provider: c.String("provider"), Type: c.String("type"),
					Spec: spec, Usage: usage, Start: from, End: to, Rule: c.String("rule")})
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(q)
				}
				p.Printf("Quote by rule %s %s (%s): %s (gas %d)\n", q.Rule.Name, q.Rule.Version, short(q.Rule.Hash), money(q.Amount, q.Scale, q.Currency), q.GasUsed)
				printLines(p, q.Lines, q.Amount, q.Scale, q.Currency)
				return nil
			})
		},
	}
}

func ruleCode(st *state) *cli.Command {
	return &cli.Command{
		Name:      "code",
		Usage:     "download a rule's module by hash (or NAME@VERSION) and check its SHA-256",
		UsageText: "fedmeter rule code REF [--out FILE]",
		Description: `Writes the exact bytes the members voted on, e.g. to rebuild the rule
from source and compare, or to run it offline. --out - writes to stdout.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "`FILE` to write (default <hash>.wasm; - for stdout)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "REF")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				code, hash, err := cl.RuleCode(c.Context, a[0])
				if err != nil {
					return err
				}
				out := c.String("out")
				if out == "-" {
					_, err := st.io.Stdout.Write(code)
					return err
				}
				if out == "" {
					out = hash + ".wasm"
				}
				if err := os.WriteFile(out, code, 0o644); err != nil {
					return client.Errorf(client.KindInvalid, "--out %s cannot be written: %v", out, errors.Unwrap(err))
				}
				if p.json {
					return p.JSON(map[string]any{"file": out, "sha256": hash, "size": len(code)})
				}
				p.Printf("Wrote %s (%d bytes); its SHA-256 is the rule's hash %s.\n", out, len(code), hash)
				return nil
			})
		},
	}
}
