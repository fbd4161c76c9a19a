package app

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/network/embedded"
	"github.com/urfave/cli/v2"
)

var proposalKinds = map[string]string{
	"add": chaincode.KindMemberAdd, "remove": chaincode.KindMemberRemove,
	"policy": chaincode.KindPolicySet, "type": chaincode.KindTypeSet, "upload": chaincode.KindUploadSet,
	chaincode.KindMemberAdd: chaincode.KindMemberAdd, chaincode.KindMemberRemove: chaincode.KindMemberRemove,
	chaincode.KindPolicySet: chaincode.KindPolicySet, chaincode.KindTypeSet: chaincode.KindTypeSet,
	chaincode.KindUploadSet: chaincode.KindUploadSet,
	"alias":                 chaincode.KindMemberAlias, chaincode.KindMemberAlias: chaincode.KindMemberAlias,
}

func memberCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "member",
		Category: "Governance",
		Usage:    "the consortium: members, policy, who may upload rules, type catalog, and votes to change them",
		Description: `The member list, the approval policy, who may upload rules and the
resource-type catalog live on the ledger and change only by a vote of the
members' admins, one vote per org:

  fedmeter org add Org4                                        local identities for the new org
  fedmeter --as Org1/Admin member propose add Org4MSP --reason "joins the federation"
  fedmeter --as Org1/Admin member vote approve <PROPOSAL ID>
  fedmeter --as Org2/Admin member vote approve <PROPOSAL ID>   decided at 2 of 3 (majority)

Who may upload rules (every upload is validated and prepared by the endorsing
peers) is admins of member orgs unless the members vote otherwise:

  fedmeter --as Org1/Admin member propose upload members      any identity of a member org
  fedmeter --as Org1/Admin member propose upload admins       back to the default

One consortium proposal may be open at a time.`,
		Subcommands: []*cli.Command{memberList(st), memberPropose(st), memberVote(st), memberProposals(st), memberShow(st)},
	}
}

func memberList(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "show the members, the approval policy, who may upload rules and the type catalog",
		UsageText: "fedmeter member list",
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Consortium, error) {
				return cl.Consortium(c.Context)
			}, func(p *printer, cons *chaincode.Consortium) {
				p.Printf("Consortium (version %d):\n", cons.Version)
				printConsortium(p, cons)
				rows := make([][]string, len(cons.Types))
				for i, t := range cons.Types {
					rows[i] = []string{"  " + t.Name, strings.Join(t.Spec, ","), strings.Join(t.Metrics, ","), t.Description}
				}
				p.Printf("\n")
				p.Table("  (no resource types)", []string{"  TYPE", "SPEC", "METRICS", "DESCRIPTION"}, rows)
			})
		},
	}
}

func memberPropose(st *state) *cli.Command {
	return &cli.Command{
		Name:      "propose",
		Usage:     "open a vote to add or remove a member, set the policy or who may upload rules, or define a type",
		UsageText: "fedmeter member propose add|remove|alias|policy|upload|type VALUE [--reason TEXT]",
		Description: `VALUE is an MSP ID (add, remove), a member's other names (alias:
MSP_ID=NAME,NAME..., such as the seed prototype's org code and short name:
Org1MSP=00001,CNIC; MSP_ID= removes them), a policy (majority, all, any, threshold:N),
who may upload rules (upload: admins, the default, for admins of member orgs;
members, for any identity of a member org), or a type definition as JSON or
@FILE (type), e.g.
  fedmeter --as Org1/Admin member propose upload members --reason "our users build rules"
  fedmeter --as Org1/Admin member propose type '{"name":"hpc","spec":["nodes"],"metrics":["node_seconds"]}'
Admins of member orgs. Opening a proposal is not a vote.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "reason", Usage: "why, as `TEXT`"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "add|remove|policy|type", "VALUE")
			if err != nil {
				return err
			}
			kind, ok := proposalKinds[a[0]]
			if !ok {
				return usageErr(c, "the proposal kind %q is not valid: it must be add, remove, alias, policy, upload or type", a[0])
			}
			value := a[1]
			if strings.HasPrefix(value, "@") {
				b, err := os.ReadFile(value[1:])
				if err != nil {
					return client.Errorf(client.KindInvalid, "%s cannot be read: %v", value[1:], errUnwrap(err))
				}
				value = string(b)
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Proposal, error) {
				return cl.Propose(c.Context, kind, value, c.String("reason"))
			}, func(p *printer, prop *chaincode.Proposal) {
				p.Printf("Opened proposal %s: %s %s.\n", prop.ID, prop.Kind, prop.Subject)
				printProposal(p, prop)
				if c.String("profile") != "" {
					p.Printf("Next: each member's admin votes, with its admin's connection profile: fedmeter --profile FILE member vote approve %s\n", prop.ID)
				} else {
					p.Printf("Next: each member's admin votes: fedmeter --as <Org>/Admin member vote approve %s\n", prop.ID)
				}
			})
		},
	}
}

func memberVote(st *state) *cli.Command {
	return &cli.Command{
		Name:      "vote",
		Usage:     "vote approve or reject on a consortium proposal",
		UsageText: "fedmeter member vote approve|reject PROPOSAL",
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "approve|reject", "PROPOSAL")
			if err != nil {
				return err
			}
			d, err := decision(c, a[0])
			if err != nil {
				return err
			}
			var voter string
			return show(st, c, func(cl *client.Client) (*chaincode.Proposal, error) {
				voter = cl.MSPID()
				return cl.Vote(c.Context, a[1], d)
			}, func(p *printer, prop *chaincode.Proposal) {
				p.Printf("%s voted %s on proposal %s (%s %s).\n", voter, d, short(prop.ID), prop.Kind, prop.Subject)
				printProposal(p, prop)
				if prop.Status == chaincode.ProposalApproved {
					p.Printf("Approved: the change is in force (fedmeter member list).\n")
				}
			})
		},
	}
}

func memberProposals(st *state) *cli.Command {
	return &cli.Command{
		Name:      "proposals",
		Usage:     "list proposals (consortium changes, rule approvals and revocations)",
		UsageText: "fedmeter member proposals [--status open|approved|rejected]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "status", Usage: "only with `STATUS`: open, approved or rejected"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) ([]chaincode.Proposal, error) {
				return nonNil(cl.Proposals(c.Context, c.String("status")))
			}, printProposals)
		},
	}
}

func printProposals(p *printer, ps []chaincode.Proposal) {
	rows := make([][]string, len(ps))
	for i, x := range ps {
		subject := x.Subject
		if len(subject) == 64 {
			subject = short(subject)
		}
		rows[i] = []string{x.ID, x.Kind, subject, x.Status, fmt.Sprintf("%d/%d", approvals(&x), x.Required), ts(x.Opened.Time)}
	}
	p.Table("No proposals.", []string{"ID", "KIND", "SUBJECT", "STATUS", "APPROVALS", "OPENED"}, rows)
}

func memberShow(st *state) *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a proposal with its votes",
		UsageText: "fedmeter member show PROPOSAL",
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "PROPOSAL")
			if err != nil {
				return err
			}
			return show(st, c, func(cl *client.Client) (*chaincode.Proposal, error) {
				return cl.Proposal(c.Context, a[0])
			}, func(p *printer, prop *chaincode.Proposal) {
				p.Printf("Proposal %s: %s %s\n", prop.ID, prop.Kind, prop.Subject)
				printProposal(p, prop)
			})
		},
	}
}

func approvals(p *chaincode.Proposal) int {
	n := 0
	for _, v := range p.Votes {
		if v.Decision == chaincode.VoteApprove {
			n++
		}
	}
	return n
}

func printProposal(p *printer, prop *chaincode.Proposal) {
	if prop.Kind == chaincode.KindMemberAlias {
		p.KV("aliases", strings.Join(prop.Aliases, ", ")+" (replacing "+prop.Subject+"'s)")
	}
	p.KV("status", votes(prop), "reason", prop.Reason, "opened", ts(prop.Opened.Time)+" by "+prop.OpenedBy.MSP)
	printVotes(p, prop)
}

func historyCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "history",
		Category:  "Ledger",
		Usage:     "show every version of a ledger entry",
		UsageText: "fedmeter history KEY",
		Description: `KEY is a ledger key (chaincode/README.md, key layout):
  consortium, proposal/<id>, rule/<hash>, activation/<type>,
  price/<provider>/<type>, quota/<provider>/<consumer>, resource/<id>, bill/<id>
e.g. fedmeter history resource/ecs-00002001 (a resource's versions are those of
its state: request, activation, each bill, release). Quotas, resources and
bills: the two orgs involved only.`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "KEY")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				h, err := cl.History(c.Context, a[0])
				if err != nil {
					return err
				}
				if p.json {
					if h == nil {
						h = []chaincode.HistoryEntry{}
					}
					return p.JSON(h)
				}
				rows := make([][]string, len(h))
				for i, e := range h {
					v := string(e.Value)
					if e.IsDelete {
						v = "(deleted)"
					}
					if len(v) > 100 {
						v = v[:100] + "…"
					}
					rows[i] = []string{ts(e.Time), short(e.Tx), v}
				}
				p.Printf("History of %s (%s; --output json shows whole values):\n", a[0], plural(len(h), "version"))
				p.Table("  (no versions)", []string{"TIME", "TX", "VALUE"}, rows)
				return nil
			})
		},
	}
}

// embeddedOnly opens the embedded ledger for a command that checks it.
func embeddedOnly(st *state, c *cli.Context) (*embeddedLedger, error) {
	if c.String("profile") != "" {
		return nil, usageErr(c, "%s checks the embedded ledger; on Fabric the peers validate every block", c.Command.HelpName)
	}
	b, err := st.open(c)
	if err != nil {
		return nil, err
	}
	return b.(*embeddedLedger), nil
}

func ledgerCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "ledger",
		Category:    "Ledger",
		Usage:       "the embedded ledger itself: verify its hash chain, show its head",
		Subcommands: []*cli.Command{ledgerVerify(st), ledgerInfo(st)},
	}
}

func ledgerVerify(st *state) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check the hash-chained log against the state, the history and the indexes",
		UsageText: "fedmeter ledger verify",
		Description: `Checks that the blocks form an unbroken hash chain ending at the recorded
head, that replaying every write set gives exactly the current state, and that
the history and transaction indexes match the log (network/embedded/README.md).
Exit 0 if it holds, 5 if anything was altered. Publish the head hash it prints
somewhere else: a rewrite of the whole chain shows only against a kept copy.`,
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			e, err := embeddedOnly(st, c)
			if err != nil {
				return err
			}
			defer e.Close()
			p := st.printer(c)
			verr := e.Ledger().Verify()
			h, head, herr := e.Ledger().Height()
			if herr != nil {
				return client.Errorf(client.KindLedger, "the ledger's head cannot be read: %v", herr)
			}
			res := map[string]any{"ok": verr == nil, "blocks": h, "head": hex.EncodeToString(head[:])}
			if verr != nil {
				res["error"] = verr.Error()
			}
			if p.json {
				if err := p.JSON(res); err != nil {
					return err
				}
			}
			if verr != nil {
				var ve *embedded.VerifyError
				if errors.As(verr, &ve) {
					return client.Errorf(client.KindMismatch, "the ledger in %s fails verification: %s", e.Dir(), ve.Error()).
						WithHint("the store was altered or damaged after it was written; restore it from a copy")
				}
				return client.Errorf(client.KindLedger, "the ledger in %s could not be verified: %v", e.Dir(), verr)
			}
			p.Printf("Ledger verified: %d blocks form an unbroken hash chain; state, history and indexes match the log.\n", h)
			p.KV("head", hex.EncodeToString(head[:]))
			return nil
		},
	}
}

func ledgerInfo(st *state) *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "show the embedded ledger's height, head hash and last transaction time",
		UsageText: "fedmeter ledger info",
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			e, err := embeddedOnly(st, c)
			if err != nil {
				return err
			}
			defer e.Close()
			h, head, err := e.Ledger().Height()
			if err != nil {
				return client.Errorf(client.KindLedger, "the ledger's head cannot be read: %v", err)
			}
			last, err := e.LastTxTime()
			if err != nil {
				return err
			}
			p := st.printer(c)
			info := map[string]any{"data": e.Dir(), "channel": e.Config().Channel, "chaincode": e.Config().Chaincode,
				"blocks": h, "head": hex.EncodeToString(head[:]), "last_tx_time": last.UTC()}
			if p.json {
				return p.JSON(info)
			}
			p.KV("data", e.Dir(), "channel", e.Config().Channel, "chaincode", e.Config().Chaincode,
				"blocks", fmt.Sprint(h), "head", hex.EncodeToString(head[:]), "last tx", last.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
			return nil
		},
	}
}
