package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/rules/build"
	"github.com/urfave/cli/v2"
)

func ruleCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "rule",
		Category: "Rules",
		Usage:    "billing rules: build, test, upload, vote, activate, revoke, quote",
		Description: `A billing rule is a WebAssembly module that turns a resource's period, spec,
usage and unit prices into a bill (host/ABI.md). Its life:

  fedmeter rule build rules/ecs                          reproducible build; prints the SHA-256
  fedmeter rule test rules/ecs                           run its test vectors in the Wasm host
  fedmeter --as Org1/Admin rule upload build/rules/ecs.wasm --version 1.0.0 --types ecs
  fedmeter --as Org1/Admin rule vote approve ecs@1.0.0   each org's admin votes (policy: majority)
  fedmeter --as Org2/Admin rule vote approve ecs@1.0.0
  fedmeter --as Org1/Admin rule activate ecs ecs@1.0.0   bills of type ecs now use it
  fedmeter rule quote --provider Org1MSP --type ecs --spec vcpu=2 --from ... --to ...

A rule is named by its code hash or by NAME@VERSION. Votes name the exact code
hash: what runs is what was voted. Who may upload is a consortium setting
(admins of member orgs by default; fedmeter member propose upload --help). On
the ledger a proposed rule runs (in a quote) only for member admins and its
uploader, an approved one for any member, and a revoked or rejected one never.`,
		Subcommands: []*cli.Command{
			ruleBuild(st), ruleTest(st), ruleUpload(st), ruleVote(st), ruleStatus(st), ruleList(st), ruleShow(st),
			ruleActivate(st), ruleActivations(st), ruleRevoke(st), ruleQuote(st), ruleCode(st),
		},
	}
}

// ruleSource says whether dir holds a Go rule, or lists its prebuilt .wasm.
func ruleSource(dir string) (goFiles bool, wasm []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, nil, err
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case e.IsDir():
		case strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") && n != "doc.go":
			goFiles = true
		case strings.HasSuffix(n, ".wasm"):
			wasm = append(wasm, filepath.Join(dir, n))
		}
	}
	return goFiles, wasm, nil
}

// buildRule builds (or copies) the rule in dir to out.
func buildRule(ctx context.Context, dir, out string) (*build.Artifact, error) {
	goFiles, wasm, err := ruleSource(dir)
	if err != nil {
		return nil, client.Errorf(client.KindInvalid, "the rule directory %s cannot be read: %v", dir, err)
	}
	if !goFiles {
		if len(wasm) != 1 {
			return nil, client.Errorf(client.KindInvalid, "%s holds no Go main package and %d .wasm files; a rule directory holds one of either", dir, len(wasm)).
				WithHint("sdk-rules/README.md shows how to write a rule")
		}
		a, err := build.Copy(wasm[0], out)
		if err != nil {
			return nil, client.Errorf(client.KindRule, "copying %s failed: %v", wasm[0], err)
		}
		a.File = out
		return a, nil
	}
	a, err := build.Rule(ctx, dir, out)
	if err != nil {
		msg := err.Error()
		first, rest, _ := strings.Cut(msg, "\n")
		e := client.Errorf(client.KindRule, "building the rule in %s failed: %s", dir, strings.TrimPrefix(first, "build rule "+dir+": "))
		if rest != "" {
			e.Hint = "the compiler said: " + strings.ReplaceAll(strings.TrimSpace(rest), "\n", "; ")
		}
		return nil, e
	}
	return a, nil
}

// moduleArg reads a module file, or builds a rule directory first.
func moduleArg(c *cli.Context, arg string) ([]byte, string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return nil, "", client.Errorf(client.KindInvalid, "%s cannot be read: %v", arg, errors.Unwrap(err)).
			WithHint("give a .wasm module or a rule directory")
	}
	if !st.IsDir() {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, "", client.Errorf(client.KindInvalid, "%s cannot be read: %v", arg, err)
		}
		return b, strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg)), nil
	}
	tmp, err := os.MkdirTemp("", "fedmeter-rule-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp)
	name := filepath.Base(filepath.Clean(arg))
	a, err := buildRule(c.Context, arg, filepath.Join(tmp, name+".wasm"))
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(a.File)
	return b, name, err
}

func ruleBuild(st *state) *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build a Go rule into a Wasm module reproducibly and print its SHA-256",
		UsageText: "fedmeter rule build DIR [--out FILE]",
		Description: `Builds the Go main package in DIR with the stock Go toolchain for wasip1
(-trimpath, no build ID, no VCS stamp: rules/build), so anyone with the
same source and Go release gets the same bytes and hash; the hash is what the
members vote on. A directory with no Go code and one .wasm (a rule written in
another language) has that module copied.

Next: fedmeter rule test DIR, then fedmeter rule upload FILE --version V.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "module `FILE` to write (default build/rules/<dir name>.wasm)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "DIR")
			if err != nil {
				return err
			}
			dir := a[0]
			out := c.String("out")
			if out == "" {
				out = filepath.Join("build", "rules", filepath.Base(filepath.Clean(dir))+".wasm")
			}
			start := time.Now()
			art, err := buildRule(c.Context, dir, out)
			if err != nil {
				return err
			}
			p := st.printer(c)
			if p.json {
				return p.JSON(map[string]any{"file": art.File, "sha256": art.Hex(), "size": art.Size})
			}
			p.Printf("Built %s into %s (%d bytes) in %s\n", dir, art.File, art.Size, time.Since(start).Round(100*time.Millisecond))
			p.KV("sha256", art.Hex())
			return nil
		},
	}
}

// vector is a rule test vector (rules/ruletest's format).
type vector struct {
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input,omitempty"`
	InputText *string         `json:"input_text,omitempty"`
	Want      json.RawMessage `json:"want"`
	GasLimit  uint64          `json:"gas_limit,omitempty"`
}

type vectorResult struct {
	File   string `json:"file"`
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Gas    uint64 `json:"gas"`
	Output string `json:"output"`
	Reason string `json:"reason,omitempty"`
}

func ruleTest(st *state) *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "run a rule's test vectors in the Wasm host, on both engines",
		UsageText: "fedmeter rule test DIR|MODULE.wasm [--vectors GLOB]",
		Description: `Prepares the module exactly as the ledger does (validation, gas metering)
and runs every test vector on wazero's compiler and interpreter; each vector
must give its "want" output, with the same bytes and gas on both engines. A
directory is built first and its vectors are DIR/testdata/vectors/*.json
(rules/ruletest's format: {"name","input","want","gas_limit"}).

A module that fails to prepare is reported with the host's reason (exit 4).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "vectors", Usage: "vector files `GLOB` (default DIR/testdata/vectors/*.json)"},
			&cli.BoolFlag{Name: "brief", Usage: "list only the failing vectors, then the summary"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "DIR|MODULE.wasm")
			if err != nil {
				return err
			}
			glob := c.String("vectors")
			if glob == "" {
				if fi, err := os.Stat(a[0]); err == nil && fi.IsDir() {
					glob = filepath.Join(a[0], "testdata", "vectors", "*.json")
				} else {
					return usageErr(c, "--vectors is required with a module file")
				}
			}
			files, err := filepath.Glob(glob)
			if err != nil || len(files) == 0 {
				return client.Errorf(client.KindInvalid, "--vectors %s matches no files", glob).
					WithHint("vectors are JSON files {\"name\",\"input\",\"want\"}; see sdk-rules/README.md")
			}
			code, _, err := moduleArg(c, a[0])
			if err != nil {
				return err
			}
			prep, err := host.Prepare(code)
			if err != nil {
				return client.Errorf(client.KindRule, "the module does not prepare: %v", err).
					WithHint("host/ABI.md lists what a module may import and contain")
			}
			ctx := c.Context
			var mods []*host.Module
			for _, e := range []host.EngineKind{host.Compiler, host.Interpreter} {
				h, err := host.New(ctx, host.Config{Engine: e})
				if err != nil {
					return client.Errorf(client.KindRule, "the Wasm host (%s) could not start: %v", e, err)
				}
				defer h.Close(context.Background())
				m, err := h.Load(ctx, prep)
				if err != nil {
					return client.Errorf(client.KindRule, "the module does not load on the %s: %v", e, err)
				}
				mods = append(mods, m)
			}
			var results []vectorResult
			failed := 0
			for _, f := range files {
				r := runVector(ctx, mods, f)
				if !r.OK {
					failed++
				}
				results = append(results, r)
			}
			p := st.printer(c)
			if p.json {
				if err := p.JSON(map[string]any{"prepared_hash": fmt.Sprintf("%x", prep.Hash), "vectors": results, "failed": failed}); err != nil {
					return err
				}
			} else {
				p.Printf("Prepared %s (%d bytes; prepared hash %s…, profile %s)\n", a[0], len(code), fmt.Sprintf("%x", prep.Hash[:6]), prep.Profile)
				var rows [][]string
				for _, r := range results {
					status := "ok"
					if !r.OK {
						status = "FAIL: " + r.Reason
					} else if c.Bool("brief") {
						continue
					}
					rows = append(rows, []string{"  " + filepath.Base(r.File), fmt.Sprint(r.Gas), status})
				}
				if len(rows) > 0 {
					p.Table("", []string{"  VECTOR", "GAS", "RESULT"}, rows)
				}
			}
			if failed > 0 {
				return client.Errorf(client.KindRule, "%d of %d vectors failed", failed, len(files))
			}
			p.Printf("All %d vectors pass on the compiler and the interpreter, with identical output and gas.\n", len(files))
			return nil
		},
	}
}

func runVector(ctx context.Context, mods []*host.Module, file string) vectorResult {
	r := vectorResult{File: file}
	data, err := os.ReadFile(file)
	if err != nil {
		r.Reason = err.Error()
		return r
	}
	var v vector
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		r.Reason = "not a vector: " + err.Error()
		return r
	}
	r.Name = v.Name
	var in bytes.Buffer
	switch {
	case v.InputText != nil && len(v.Input) == 0:
		in.WriteString(*v.InputText)
	case v.InputText == nil && len(v.Input) > 0:
		if err := json.Compact(&in, v.Input); err != nil {
			r.Reason = "input: " + err.Error()
			return r
		}
	default:
		r.Reason = "a vector needs exactly one of input and input_text"
		return r
	}
	var tx struct {
		Tx struct {
			ID   string `json:"id"`
			Time int64  `json:"time"`
		} `json:"tx"`
	}
	_ = json.Unmarshal(in.Bytes(), &tx)
	call := host.Call{Input: in.Bytes(), GasLimit: v.GasLimit, TxTime: time.Unix(tx.Tx.Time, 0).UTC(), TxID: tx.Tx.ID}
	var first *host.Result
	for _, m := range mods {
		res, err := m.Bill(ctx, call)
		if err != nil && !errors.Is(err, host.ErrRule) {
			r.Reason = err.Error()
			return r
		}
		if first == nil {
			first = res
			continue
		}
		if !bytes.Equal(res.Output, first.Output) || res.GasUsed != first.GasUsed {
			r.Reason = "the compiler and the interpreter disagree"
			return r
		}
	}
	r.Gas, r.Output = first.GasUsed, string(first.Output)
	if len(v.Want) == 0 {
		r.Reason = "the vector has no want"
		return r
	}
	want, err1 := decodeAny(v.Want)
	got, err2 := decodeAny(first.Output)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(want, got) {
		r.Reason = "output " + string(first.Output)
		return r
	}
	r.OK = true
	return r
}

func decodeAny(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func ruleUpload(st *state) *cli.Command {
	return &cli.Command{
		Name:      "upload",
		Usage:     "upload a rule version and open the members' vote on it",
		UsageText: "fedmeter rule upload MODULE.wasm|DIR --version VERSION [--name NAME] [--types TYPE,...] [--author TEXT] [--description TEXT]",
		Description: `Stores the module on the ledger under its SHA-256 (a directory is built
first). The contract validates and prepares it; a module the host rejects is
refused with the host's reason (exit 4). Uploading opens the approval vote;
the upload itself is not a vote.

Who may upload is the consortium's upload setting (fedmeter member list shows
it): admins of member orgs by default, since every endorsing peer validates
and prepares each upload. The members' admins can open uploads to any identity
of a member org by a vote, and close them again:
  fedmeter --as Org1/Admin member propose upload members
  fedmeter --as <Org>/Admin member vote approve <PROPOSAL ID>
Anyone else is refused (exit 3). The uploading identity is recorded: it may
quote the rule (fedmeter rule quote --rule) while the vote is open, as the
member admins may.

Next: each org's admin votes, e.g. fedmeter --as Org2/Admin rule vote approve NAME@VERSION.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "version", Usage: "semantic `VERSION`, e.g. 1.0.0 (required)"},
			&cli.StringFlag{Name: "name", Usage: "rule `NAME` (default: the file or directory name)"},
			&cli.StringSliceFlag{Name: "types", Usage: "resource `TYPE`s it prices (default: the name)"},
			&cli.StringFlag{Name: "author", Usage: "author `TEXT` (default: the uploading org)"},
			&cli.StringFlag{Name: "description", Usage: "description `TEXT`"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "MODULE.wasm|DIR")
			if err != nil {
				return err
			}
			if c.String("version") == "" {
				return usageErr(c, "--version is required (a semantic version such as 1.0.0)")
			}
			code, base, err := moduleArg(c, a[0])
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				m := client.RuleMeta{Name: c.String("name"), Version: c.String("version"), Types: c.StringSlice("types"),
					Author: c.String("author"), Description: c.String("description")}
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
				p.Printf("Next: each org's admin votes, e.g.\n  fedmeter --as <Org>/Admin rule vote approve %s@%s\n", r.Name, r.Version)
				return nil
			})
		},
	}
}

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

func ruleActivate(st *state) *cli.Command {
	return &cli.Command{
		Name:      "activate",
		Usage:     "bind a resource type to an approved rule from a time on",
		UsageText: "fedmeter rule activate TYPE REF [--from TIME]",
		Description: `Bills of TYPE whose period ends at or after --from (default now) are
computed by the rule REF. Earlier activations stay, so past bills can be
recomputed. Admins of member orgs; the rule must be approved and list TYPE.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "effective `TIME` (RFC 3339 or Unix seconds; default now; no backdating)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 2, 2, "TYPE", "REF")
			if err != nil {
				return err
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				acts, err := cl.ActivateRule(c.Context, a[0], a[1], c.String("from"))
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
		rows[i] = []string{"  " + ts(e.EffectiveFrom), e.Name + "@" + e.Version, short(e.Hash), e.By.MSP}
	}
	p.Table("  (no activations)", []string{"  FROM", "RULE", "HASH", "BY"}, rows)
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
			&cli.StringFlag{Name: "from", Usage: "period start `TIME` (RFC 3339 or Unix seconds)"},
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
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				q, err := cl.Quote(c.Context, client.QuoteRequest{Provider: c.String("provider"), Type: c.String("type"),
					Spec: spec, Usage: usage, Start: c.String("from"), End: c.String("to"), Rule: c.String("rule")})
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
