package app

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/rules/build"
	"github.com/urfave/cli/v2"
)

// rule upload, vote, status, show and list: a rule on its way to approval.

func ruleUpload(st *state) *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "upload a rule version and open the members' vote on it",
		UsageText: "fedmeter rule upload MODULE.wasm|DIR --version VERSION [--name NAME] [--types TYPE,...] [--author TEXT] [--description TEXT]",
		Description: `Stores the module on the ledger under its SHA-256 (a directory is built
first). The contract validates and prepares it; a module the host rejects is
refused with the host's reason (exit 4). Uploading opens the approval vote;
the upload itself is not a vote.

Provenance: uploading a DIR records, with the rule, the SHA-256 of its
source tree (as rules/build.SourceHash hashes it: a sha256sum manifest of
the folder's files, hidden files, node_modules and build skipped) and the
toolchain that built it (go env GOVERSION, or assemblyscript VERSION);
--source-hash and --toolchain give or override them (for a module file
too), --no-provenance leaves them out. Voters check them with
fedmeter rule verify-build DIR REF.

Who may upload is the consortium's upload setting (fedmeter member list shows
it): admins of member orgs by default, since every endorsing peer validates
and prepares each upload. The members' admins can open uploads to any identity
of a member org by a vote, and close them again:
  fedmeter --as Org1/Admin member propose upload members
  fedmeter --as <Org>/Admin member vote approve <PROPOSAL ID>
Anyone else is refused (exit 3). The uploading identity is recorded: it may
quote the rule (fedmeter rule quote --rule) while the vote is open, as the
member admins may.

Next: each org's admin backtests it on past bills (fedmeter rule backtest
NAME@VERSION --type TYPE) and votes, e.g. fedmeter --as Org2/Admin rule vote
approve NAME@VERSION.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "version", Usage: "semantic `VERSION`, e.g. 1.0.0 (required)"},
			&cli.StringFlag{Name: "name", Usage: "rule `NAME` (default: the file or directory name)"},
			&cli.StringSliceFlag{Name: "types", Usage: "resource `TYPE`s it prices (default: the name)"},
			&cli.StringFlag{Name: "author", Usage: "author `TEXT` (default: the uploading org)"},
			&cli.StringFlag{Name: "description", Usage: "description `TEXT`"},
			&cli.StringFlag{Name: "source-hash", Usage: "provenance: the SHA-256 `HASH` of the source tree (default for a DIR: computed, as rules/build hashes it)"},
			&cli.StringFlag{Name: "toolchain", Usage: "provenance: the toolchain `TEXT` that built it (default for a DIR: go env GOVERSION, or assemblyscript VERSION)"},
			&cli.BoolFlag{Name: "no-provenance", Usage: "upload without provenance, even for a DIR"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "MODULE.wasm|DIR")
			if err != nil {
				return err
			}
			if c.String("version") == "" {
				return usageErr(c, "--version is required (a semantic version such as 1.0.0)")
			}
			pv, err := uploadProvenance(c, a[0])
			if err != nil {
				return err
			}
			code, base, err := moduleArg(c, a[0])
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				m := client.RuleMeta{Name: c.String("name"), Version: c.String("version"), Types: c.StringSlice("types"),
					Author: c.String("author"), Description: c.String("description"), Provenance: pv}
				if m.Name == "" {
					m.Name = strings.ToLower(base)
				}
				if len(m.Types) == 0 {
					m.Types = []string{m.Name}
				}
				if m.Author == "" {
					m.Author = cl.MSPID()
				}
				r, err := cl.UploadRule(c.Context, m, code)
				var ce *client.Error
				if errors.As(err, &ce) && ce.Kind == client.KindDenied && strings.Contains(ce.Msg, "upload setting") {
					ce.Hint = "upload as an admin of a member org (--as ORG/Admin), or have the members' admins open uploads: fedmeter --as ORG/Admin member propose upload members"
				}
				if err != nil {
					return err
				}
				s, err := cl.RuleStatus(c.Context, r.Hash)
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(s)
				}
				p.Printf("Uploaded rule %s %s; the members' vote is open.\n", r.Name, r.Version)
				printRule(p, s)
				p.Printf("Next: each org's admin backtests it on past bills, then votes, e.g.\n  fedmeter --as <Org>/Admin rule backtest %s@%s --type %s\n  fedmeter --as <Org>/Admin rule vote approve %s@%s\n", r.Name, r.Version, strings.Join(r.ResourceTypes, "|"), r.Name, r.Version)
				return nil
			})
		},
	}
}

// uploadProvenance is the provenance an upload carries: computed for a
// rule directory (source hash and toolchain), --source-hash and
// --toolchain overriding; nil with --no-provenance or when there is none.
func uploadProvenance(c *cli.Context, arg string) (*chaincode.Provenance, error) {
	if c.Bool("no-provenance") {
		if c.IsSet("source-hash") || c.IsSet("toolchain") {
			return nil, usageErr(c, "--no-provenance contradicts --source-hash and --toolchain")
		}
		return nil, nil
	}
	pv := &chaincode.Provenance{SourceHash: strings.ToLower(strings.TrimSpace(c.String("source-hash"))), Toolchain: strings.TrimSpace(c.String("toolchain"))}
	if pv.SourceHash != "" && !reSHA256.MatchString(pv.SourceHash) {
		return nil, usageErr(c, "--source-hash %q is not a SHA-256: it must be 64 hex digits", pv.SourceHash)
	}
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		if pv.SourceHash == "" {
			h, err := build.SourceHash(arg)
			if err != nil {
				return nil, client.Errorf(client.KindInvalid, "the source of %s cannot be hashed: %v", arg, err).
					WithHint("upload with --no-provenance, or give --source-hash")
			}
			pv.SourceHash = h
		}
		if pv.Toolchain == "" {
			tc, err := build.Toolchain(c.Context, arg)
			if err != nil {
				return nil, client.Errorf(client.KindInvalid, "the toolchain of %s cannot be told: %v", arg, err).
					WithHint("upload with --no-provenance, or give --toolchain")
			}
			pv.Toolchain = tc
		}
	}
	if pv.SourceHash == "" && pv.Toolchain == "" {
		return nil, nil
	}
	return pv, nil
}

var reSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func printRule(p *printer, s *client.RuleStatus) {
	r := s.Rule
	p.KV(
		"name", r.Name+" "+r.Version,
		"hash", r.Hash,
		"prepared", r.PreparedHash+" (profile "+r.Profile+")",
		"types", strings.Join(r.ResourceTypes, ", "),
		"size", fmt.Sprintf("%d bytes", r.Size),
		"author", r.Author,
		"description", r.Description,
		"uploaded", ts(r.Uploaded.Time)+" by "+r.UploadedBy.MSP,
		"source", provenanceText(r.Provenance),
		"status", r.Status,
		"vote", votes(s.Proposal),
	)
	printVotes(p, s.Proposal)
	if s.Revocation != nil {
		p.KV("revocation", votes(s.Revocation), "reason", s.Revocation.Reason)
		printVotes(p, s.Revocation)
	}
	if len(s.Activations) > 0 {
		rows := make([][]string, len(s.Activations))
		for i, a := range s.Activations {
			rows[i] = []string{"  " + a.Type, ts(a.EffectiveFrom), a.By.MSP}
		}
		p.Printf("\n")
		p.Table("", []string{"  ACTIVE FOR", "FROM", "BY"}, rows)
	}
}

// provenanceText is a rule's provenance on one line, "" if it has none.
func provenanceText(pv *chaincode.Provenance) string {
	if pv == nil {
		return ""
	}
	var parts []string
	if pv.SourceHash != "" {
		parts = append(parts, "sha256 "+pv.SourceHash)
	}
	if pv.Toolchain != "" {
		parts = append(parts, "built with "+pv.Toolchain)
	}
	return strings.Join(parts, ", ") + " (as uploaded; fedmeter rule verify-build checks it)"
}

func ruleVote(st *state) *cli.Command {
	return &cli.Command{
		Name:      "vote",
		Usage:     "vote approve or reject on a rule (or, with --revocation, on its revocation)",
		UsageText: "fedmeter rule vote approve|reject REF [--revocation]",
		Description: `Casts the org's one vote on a rule version, as an admin of a member org.
REF is NAME@VERSION or the code hash; the vote names the exact code hash.
The rule is approved once the policy's number of orgs approve, and rejected
once it no longer can be. With --revocation the vote is on the open proposal
to revoke an approved rule: approve revokes it, reject keeps it.

Before voting on a proposed rule, see what it would have billed on the
ledger's past bills: fedmeter rule backtest REF --type TYPE --from --to.

Next (once approved): fedmeter rule activate TYPE REF.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "revocation", Usage: "vote on the rule's open revocation instead"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "approve|reject", "REF")
			if err != nil {
				return err
			}
			d, err := decision(c, a[0])
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				var prop *chaincode.Proposal
				var r *chaincode.Rule
				what := "rule"
				if c.Bool("revocation") {
					prop, r, err = cl.VoteRevocation(c.Context, a[1], d)
					what = "the revocation of rule"
				} else {
					prop, r, err = cl.VoteRule(c.Context, a[1], d)
				}
				if err != nil {
					var ce *client.Error
					if errors.As(err, &ce) && strings.Contains(ce.Msg, "its vote is closed") && ce.Hint == "" {
						ce.Hint = "to vote on revoking an approved rule, add --revocation"
					}
					return err
				}
				if p.json {
					return p.JSON(map[string]any{"rule": r, "proposal": prop})
				}
				p.Printf("%s voted %s on %s %s %s (%s).\n", cl.MSPID(), d, what, r.Name, r.Version, short(r.Hash))
				p.KV("vote", votes(prop), "rule status", r.Status)
				switch {
				case r.Status == chaincode.RuleApproved && !c.Bool("revocation"):
					p.Printf("The rule is approved. Next: fedmeter --as <Org>/Admin rule activate %s %s@%s\n", strings.Join(r.ResourceTypes, "|"), r.Name, r.Version)
				case r.Status == chaincode.RuleRevoked:
					p.Printf("The rule is revoked: bills of the types it is active for fail until another version is activated.\n")
				}
				return nil
			})
		},
	}
}

func ruleStatus(st *state) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show a rule with its votes and where it is active",
		UsageText: "fedmeter rule status REF",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "REF")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				s, err := cl.RuleStatus(c.Context, a[0])
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(s)
				}
				p.Printf("Rule %s %s\n", s.Rule.Name, s.Rule.Version)
				printRule(p, s)
				if s.Rule.Status == chaincode.RuleProposed {
					p.Printf("\nBefore voting, see what it would have billed (nothing is written):\n")
					for _, t := range s.Rule.ResourceTypes {
						p.Printf("  fedmeter rule backtest %s@%s --type %s --from TIME --to TIME\n", s.Rule.Name, s.Rule.Version, t)
					}
				}
				return nil
			})
		},
	}
}

func ruleShow(st *state) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a rule's record",
		UsageText: "fedmeter rule show REF",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "REF")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				r, err := cl.Rule(c.Context, a[0])
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(r)
				}
				p.Printf("Rule %s %s\n", r.Name, r.Version)
				printRule(p, &client.RuleStatus{Rule: r})
				return nil
			})
		},
	}
}

func ruleList(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list every rule version",
		UsageText: "fedmeter rule list",
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				rs, err := cl.Rules(c.Context)
				if err != nil {
					return err
				}
				if p.json {
					return p.JSON(rs)
				}
				rows := make([][]string, len(rs))
				for i, r := range rs {
					rows[i] = []string{r.Name + "@" + r.Version, r.Status, strings.Join(r.ResourceTypes, ","), short(r.Hash), ts(r.Uploaded.Time)}
				}
				p.Table("No rules yet. Upload one with: fedmeter rule upload MODULE.wasm --version 1.0.0", []string{"RULE", "STATUS", "TYPES", "HASH", "UPLOADED"}, rows)
				return nil
			})
		},
	}
}
