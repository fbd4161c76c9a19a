package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/client/embedded"
	"github.com/urfave/cli/v2"
)

func initCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "init",
		Category:  "Setup",
		Usage:     "create an embedded ledger: the orgs, their identities and the consortium",
		UsageText: "fedmeter [--data DIR] init [--org NAME[=MSPID]]... [--policy POLICY] [--types FILE]",
		Description: `Creates the embedded ledger in --data (default ./.fedmeter): a CA and three
identities per org (Admin: admin; User1: member; Agent1: metering agent),
fedmeter.yaml, and the consortium of those orgs with its approval policy and
resource-type catalog (ConsortiumInit, by the first org's Admin).

The default orgs are the seed's: Org1, Org2 and Org3 (MSP IDs Org1MSP, ...).
The default catalog holds the standard rules' types: bandwidth, ecs, gpu and
storage; --types FILE gives another (a JSON array of
{"name","description","spec":[...],"metrics":[...]}).

With --profile, init creates the consortium on a Fabric network instead
(ConsortiumInit as the profile's identity, an admin of one of the --org MSP IDs).

Next: fedmeter org list, then publish prices (fedmeter price set --help).`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "org", Usage: "a founding org, `NAME[=MSPID]` (repeat, or comma-separate; default Org1,Org2,Org3)"},
			&cli.StringFlag{Name: "policy", Value: "majority", Usage: "approval `POLICY`: majority, all, any or threshold:N"},
			&cli.StringFlag{Name: "types", Usage: "resource-type catalog `FILE` (JSON array); default: bandwidth, ecs, gpu, storage"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			var orgs []embedded.OrgSpec
			for _, s := range c.StringSlice("org") {
				o, err := embedded.ParseOrgSpec(s)
				if err != nil {
					return err
				}
				orgs = append(orgs, o)
			}
			var types []chaincode.TypeDef
			if f := c.String("types"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					return client.Errorf(client.KindInvalid, "--types %s cannot be read: %v", f, err)
				}
				if err := json.Unmarshal(b, &types); err != nil {
					return client.Errorf(client.KindInvalid, "--types %s is not a JSON array of type definitions: %v", f, err).
						WithHint(`each type is {"name":"ecs","description":"...","spec":["vcpu"],"metrics":["egress_gib"]}`)
				}
			}
			p := st.printer(c)
			if c.String("profile") != "" {
				return st.withClient(c, func(cl *client.Client, p *printer) error {
					if len(orgs) == 0 {
						orgs = embedded.DefaultOrgs
					}
					if types == nil {
						types = embedded.DefaultTypes
					}
					ids := make([]string, len(orgs))
					for i, o := range orgs {
						ids[i] = o.MSPID
					}
					tb, _ := json.Marshal(types)
					out, err := cl.Backend().Submit(c.Context, "ConsortiumInit", strings.Join(ids, ","), c.String("policy"), string(tb))
					if err != nil {
						return err
					}
					var cons chaincode.Consortium
					if err := json.Unmarshal(out, &cons); err != nil {
						return err
					}
					if p.json {
						return p.JSON(cons)
					}
					p.Printf("Created the consortium on %s\n", c.String("profile"))
					printConsortium(p, &cons)
					return nil
				})
			}
			at, err := parseAt(c.String("at"))
			if err != nil {
				return err
			}
			o := embedded.InitOptions{Orgs: orgs, Policy: c.String("policy"), Types: types}
			if !at.IsZero() {
				o.Clock = func() time.Time { return at }
			}
			dir := dataDir(c)
			cons, err := embedded.Init(c.Context, dir, o)
			if err != nil {
				return err
			}
			cfg, err := embedded.LoadConfig(dir)
			if err != nil {
				return err
			}
			if p.json {
				return p.JSON(struct {
					Data       string                `json:"data"`
					Consortium *chaincode.Consortium `json:"consortium"`
					Config     *embedded.Config      `json:"config"`
				}{dir, cons, cfg})
			}
			abs, _ := filepath.Abs(dir)
			p.Printf("Created the embedded ledger in %s\n", abs)
			printConsortium(p, cons)
			printIdentities(p, cfg, cons)
			p.Printf("\nCommands act as %s unless --as says otherwise.\n", cfg.DefaultIdentity)
			p.Printf("Next: a provider publishes prices, e.g.\n  fedmeter --as %s/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5\n", cfg.Orgs[0].Name)
			return nil
		},
	}
}

func printConsortium(p *printer, cons *chaincode.Consortium) {
	types := make([]string, len(cons.Types))
	for i, t := range cons.Types {
		types[i] = t.Name
	}
	need := map[string]string{"majority": "a strict majority", "all": "every member", "any": "any one member"}[cons.Policy.Kind]
	if cons.Policy.Kind == "threshold" {
		need = fmt.Sprintf("%d members", cons.Policy.Threshold)
	}
	kv := []string{"members", strings.Join(cons.Members, ", ")}
	if len(cons.Former) > 0 { // removed orgs: their bills stay in the others' lists
		kv = append(kv, "former members", strings.Join(cons.Former, ", "))
	}
	if len(cons.Aliases) > 0 { // other names of members (the seed prototype's org codes and names)
		names := make([]string, 0, len(cons.Aliases))
		for a, m := range cons.Aliases {
			names = append(names, a+"="+m)
		}
		sort.Strings(names)
		kv = append(kv, "aliases", strings.Join(names, ", "))
	}
	p.KV(append(kv,
		"policy", fmt.Sprintf("%s (%s must approve)", policyString(cons.Policy), need),
		"rule uploads", uploadString(cons.UploadAccess),
		"types", strings.Join(types, ", "),
		"version", fmt.Sprint(cons.Version),
	)...)
}

// uploadString says who may upload rules under the upload setting v, and
// how to change it.
func uploadString(v string) string {
	switch v {
	case chaincode.UploadMembers:
		return "members (any identity of a member org; member propose upload admins restricts it to admins)"
	case chaincode.UploadAdmins, "":
		return "admins (admins of member orgs; member propose upload members opens it to every member identity)"
	}
	return v
}

func policyString(p chaincode.Policy) string {
	if p.Kind == "threshold" {
		return fmt.Sprintf("threshold:%d", p.Threshold)
	}
	return p.Kind
}

func printIdentities(p *printer, cfg *embedded.Config, cons *chaincode.Consortium) {
	var rows [][]string
	for _, o := range cfg.Orgs {
		member := "no"
		if cons != nil {
			for _, m := range cons.Members {
				if m == o.MSPID {
					member = "yes"
				}
			}
		} else {
			member = "?"
		}
		for _, u := range o.Users {
			rows = append(rows, []string{"  " + o.Name + "/" + u.Name, o.MSPID, u.Role, member})
		}
	}
	p.Printf("\n")
	p.Table("  (no local identities)", []string{"  --as", "MSP ID", "ROLE", "MEMBER"}, rows)
}

func orgCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "org",
		Category: "Setup",
		Usage:    "local orgs and identities of the embedded ledger (list, add)",
		Description: `The embedded ledger keeps each org's CA and identities under --data/orgs.
Use an identity with --as ORG/USER. A new org gets identities with org add,
then becomes a member when the members vote it in (fedmeter member propose add).`,
		Subcommands: []*cli.Command{orgList(st), orgAdd(st)},
	}
}

func orgList(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the local identities (the values of --as) and whether each org is a member",
		UsageText: "fedmeter org list",
		Action: func(c *cli.Context) error {
			if _, err := args(c, 0, 0); err != nil {
				return err
			}
			if c.String("profile") != "" {
				return usageErr(c, "org list shows the identities of the embedded ledger; with --profile the identity is the profile's")
			}
			dir := dataDir(c)
			cfg, err := embedded.LoadConfig(dir)
			if err != nil {
				return err
			}
			var cons *chaincode.Consortium
			if err := st.withClient(c, func(cl *client.Client, p *printer) error {
				cons, err = cl.Consortium(c.Context)
				return err
			}); err != nil {
				cons = nil
			}
			p := st.printer(c)
			if p.json {
				return p.JSON(cfg)
			}
			p.Printf("Local identities in %s (default %s):\n", dir, cfg.DefaultIdentity)
			printIdentities(p, cfg, cons)
			return nil
		},
	}
}

func orgAdd(st *state) *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "create identities (Admin, User1, Agent1) for a new org",
		UsageText: "fedmeter org add NAME[=MSPID]",
		Description: `Creates a CA and identities for an org that is not yet a member, e.g.
  fedmeter org add Org4            (MSP ID Org4MSP)
Then an admin proposes it and the members vote:
  fedmeter --as Org1/Admin member propose add Org4MSP --reason "joins the federation"`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "NAME[=MSPID]")
			if err != nil {
				return err
			}
			if c.String("profile") != "" {
				return usageErr(c, "org add creates identities for the embedded ledger; on Fabric, the org's CA issues them")
			}
			o, err := embedded.ParseOrgSpec(a[0])
			if err != nil {
				return err
			}
			oc, err := embedded.AddOrg(dataDir(c), o)
			if err != nil {
				return err
			}
			p := st.printer(c)
			if p.json {
				return p.JSON(oc)
			}
			p.Printf("Created identities for %s (%s): ", oc.Name, oc.MSPID)
			names := make([]string, len(oc.Users))
			for i, u := range oc.Users {
				names[i] = oc.Name + "/" + u.Name
			}
			p.Printf("%s\n", strings.Join(names, ", "))
			p.Printf("%s is not a member yet. Next: fedmeter --as Org1/Admin member propose add %s\n", oc.MSPID, oc.MSPID)
			return nil
		},
	}
}

func completionCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Category:  "Shell",
		Usage:     "print a shell completion script (bash or zsh)",
		UsageText: "fedmeter completion bash|zsh",
		Description: `Prints a script that completes fedmeter's commands and flags.
  bash:  source <(fedmeter completion bash)      (or save it in /etc/bash_completion.d/fedmeter)
  zsh:   source <(fedmeter completion zsh)`,
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "bash|zsh")
			if err != nil {
				return err
			}
			switch a[0] {
			case "bash":
				fmt.Fprint(st.io.Stdout, bashCompletion)
			case "zsh":
				fmt.Fprint(st.io.Stdout, zshCompletion)
			default:
				return usageErr(c, "shell %q is not supported: it must be bash or zsh", a[0])
			}
			return nil
		},
	}
}

const bashCompletion = `# bash completion for fedmeter; source <(fedmeter completion bash)
_fedmeter_complete() {
  local cur words cword opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _fedmeter_complete fedmeter
`

const zshCompletion = `#compdef fedmeter
# zsh completion for fedmeter; source <(fedmeter completion zsh)
_fedmeter() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _fedmeter fedmeter
`
