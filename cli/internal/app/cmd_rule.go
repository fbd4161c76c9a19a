package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/host"
	"github.com/fedmeter/fedmeter/rules/build"
	"github.com/urfave/cli/v2"
)

func ruleCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:     "rule",
		Category: "Rules",
		Usage:    "billing rules: new, build, test, run, upload, backtest, vote, activate, revoke, quote, verify-build",
		Description: `A billing rule is a WebAssembly module that turns a resource's period, spec,
usage and unit prices into a bill (host/ABI.md). Its life:

  fedmeter rule build rules/ecs                          reproducible build; prints the SHA-256
  fedmeter rule test rules/ecs                           run its test vectors in the Wasm host
  fedmeter rule run rules/ecs --input input.json         one call as the ledger makes it: output, gas, log
  fedmeter --as Org1/Admin rule upload build/rules/ecs.wasm --version 1.0.0 --types ecs
  fedmeter --as Org2/Admin rule backtest ecs@1.0.0 --type ecs --from 2026-01-01T00:00:00Z
                                                         what it would have billed: old, new, difference
  fedmeter rule verify-build rules/ecs ecs@1.0.0         rebuild: is the code voted on this source's?
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
			ruleNew(st), ruleBuild(st), ruleTest(st), ruleRun(st), ruleBacktest(st), ruleUpload(st), ruleVote(st), ruleStatus(st), ruleList(st), ruleShow(st),
			ruleVerifyBuild(st), ruleActivate(st), ruleActivations(st), ruleRevoke(st), ruleQuote(st), ruleCode(st),
		},
	}
}

// buildRule builds (or copies) the rule in dir to out.
func buildRule(ctx context.Context, dir, out string) (*build.Artifact, error) {
	goFiles, wasm, err := build.Scan(dir)
	if err != nil {
		return nil, client.Errorf(client.KindInvalid, "the rule directory %s cannot be read: %v", dir, err)
	}
	if !goFiles && build.IsAssemblyScript(dir) {
		a, err := build.AssemblyScript(ctx, dir, out)
		if errors.Is(err, build.ErrNoNode) {
			return nil, client.Errorf(client.KindInvalid, "%s is an AssemblyScript rule: %v", dir, err).
				WithHint("install Node.js 18 or later, then run npm ci in the rule's folder")
		}
		if err != nil {
			first, rest, _ := strings.Cut(err.Error(), "\n")
			e := client.Errorf(client.KindRule, "building the AssemblyScript rule in %s failed: %s", dir, strings.TrimPrefix(first, "build rule "+dir+": "))
			if rest != "" {
				e.Hint = "the build said: " + strings.ReplaceAll(strings.TrimSpace(rest), "\n", "; ")
			}
			return nil, e
		}
		return a, nil
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
		// The size first: a 50 MB file was read whole (and base64'd)
		// before the ledger refused it.
		if max := int64(host.ProfileV1().MaxModuleBytes); st.Size() > max {
			return nil, "", client.Errorf(client.KindInvalid, "%s is %d bytes; a rule module may have at most %d", arg, st.Size(), max)
		}
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, "", client.Errorf(client.KindInvalid, "%s cannot be read: %v", arg, err)
		}
		if len(b) == 0 {
			return nil, "", client.Errorf(client.KindInvalid, "%s is empty: a Wasm module starts with the bytes \\0asm", arg).
				WithHint("build the rule first: fedmeter rule build DIR")
		}
		return b, strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg)), nil
	}
	tmp, err := os.MkdirTemp("", "fedmeter-rule-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp)
	name := ruleName(arg)
	a, err := buildRule(c.Context, arg, filepath.Join(tmp, name+".wasm"))
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(a.File)
	return b, name, err
}

// ruleName names a rule after its folder: the folder's own name, also when
// it is given as "." or "..".
func ruleName(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Base(filepath.Clean(dir))
}

func ruleBuild(st *state) *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build a Go rule into a Wasm module reproducibly and print its SHA-256",
		UsageText: "fedmeter rule build DIR [--out FILE]",
		Description: `Builds the Go main package in DIR with the stock Go toolchain for wasip1
(-trimpath, no build ID, no VCS stamp: rules/build), so anyone with the
same source and Go release gets the same bytes and hash; the hash is what the
members vote on. An AssemblyScript rule (package.json and assembly/index.ts)
is built by its package.json's build script (the kit's build.mjs: fixed
compiler options, the compiler pinned by package-lock.json; run npm ci
first). A directory with no Go code and one .wasm (a rule written in
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
				out = filepath.Join("build", "rules", ruleName(dir)+".wasm")
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
