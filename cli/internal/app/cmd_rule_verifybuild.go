package app

import (
	"os"
	"path/filepath"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/rules/build"
	"github.com/urfave/cli/v2"
)

// rule verify-build: rebuild a rule from source and compare it with the
// code the members voted on.

// buildCheck is one comparison of verify-build.
type buildCheck struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Rule  string `json:"rule"`  // what the ledger holds ("" when it recorded none)
	Local string `json:"local"` // what this rebuild gives
	// Info marks a comparison that does not fail the command (the
	// toolchain: it explains a module hash that differs).
	Info bool `json:"info,omitempty"`
}

func ruleVerifyBuild(st *state) *cli.Command {
	return &cli.Command{
		Name:      "verify-build",
		Usage:     "rebuild a rule from source and compare the module's hash with the one voted on",
		UsageText: "fedmeter rule verify-build DIR REF [--json]",
		Description: `Builds the rule in DIR as rule build does (reproducibly: rules/build) and
compares the SHA-256 of the module with the code hash of the uploaded rule
REF (its code hash or NAME@VERSION): the hash the members vote on, and the
code that bills. When the upload recorded a provenance, the SHA-256 of DIR's
source tree (rules/build.SourceHash) is compared with the recorded one, and
the local toolchain with the recorded toolchain (the module's bytes depend
on it: build with the same Go release, or the same AssemblyScript compiler
from the lockfile, to get the same hash).

Exit 0 when the module hash (and the source hash, if recorded) match; 5 when
either differs; 4 when DIR does not build.

Example:
  fedmeter rule verify-build rules/ecs ecs@1.0.0`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print one JSON document (same as --output json)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("json") {
				st.jsonOn = true
			}
			a, err := args(c, 2, 2, "DIR", "REF")
			if err != nil {
				return err
			}
			dir, ref := a[0], a[1]
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return client.Errorf(client.KindInvalid, "%s is not a rule directory", dir).
					WithHint("give the folder the rule was built from, then the uploaded rule: fedmeter rule verify-build DIR NAME@VERSION")
			}
			return st.withClient(c, func(cl *client.Client, p *printer) error {
				if c.Bool("json") {
					p = &printer{w: p.w, json: true}
				}
				r, err := cl.Rule(c.Context, ref)
				if err != nil {
					return err
				}
				src, err := build.SourceHash(dir)
				if err != nil {
					return client.Errorf(client.KindInvalid, "the source of %s cannot be hashed: %v", dir, err)
				}
				tc, err := build.Toolchain(c.Context, dir)
				if err != nil {
					return client.Errorf(client.KindInvalid, "the toolchain of %s cannot be told: %v", dir, err)
				}
				tmp, err := os.MkdirTemp("", "fedmeter-verify-build-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				art, err := buildRule(c.Context, dir, filepath.Join(tmp, ruleName(dir)+".wasm"))
				if err != nil {
					return err
				}
				checks := []buildCheck{{Name: "module hash", OK: art.Hex() == r.Hash, Rule: r.Hash, Local: art.Hex()}}
				pv := r.Provenance
				if pv != nil && pv.SourceHash != "" {
					checks = append(checks, buildCheck{Name: "source hash", OK: src == pv.SourceHash, Rule: pv.SourceHash, Local: src})
				} else {
					checks = append(checks, buildCheck{Name: "source hash", OK: true, Info: true, Local: src})
				}
				if pv != nil && pv.Toolchain != "" {
					checks = append(checks, buildCheck{Name: "toolchain", OK: tc == pv.Toolchain, Info: true, Rule: pv.Toolchain, Local: tc})
				} else {
					checks = append(checks, buildCheck{Name: "toolchain", OK: true, Info: true, Local: tc})
				}
				ok := true
				for _, ch := range checks {
					if !ch.OK && !ch.Info {
						ok = false
					}
				}
				var failure error
				if !ok {
					e := client.Errorf(client.KindMismatch, "the rule built from %s is not rule %s %s as uploaded", dir, r.Name, r.Version)
					switch {
					case !checks[0].OK && pv != nil && pv.SourceHash != "" && checks[1].OK:
						e.Hint = "the source is the one recorded, so the build differs: build with the recorded toolchain (" + pv.Toolchain + ")"
					case !checks[0].OK:
						e.Hint = "a different source or toolchain; the module's bytes depend on both (rules/build)"
					default:
						e.Hint = "the module matches, but the folder's files differ from those the uploader hashed"
					}
					failure = e
				}
				if p.json {
					if err := p.JSON(map[string]any{"dir": dir, "rule": r.Name + "@" + r.Version, "hash": r.Hash, "status": r.Status,
						"ok": ok, "checks": checks, "provenance": pv}); err != nil {
						return err
					}
					return failure
				}
				p.Printf("Rebuilt %s and compared it with rule %s %s (%s).\n", dir, r.Name, r.Version, r.Status)
				rows := make([][]string, len(checks))
				for i, ch := range checks {
					res := "ok"
					switch {
					case ch.Rule == "":
						res = "not recorded"
					case !ch.OK && ch.Info:
						res = "differs"
					case !ch.OK:
						res = "MISMATCH"
					}
					rule := ch.Rule
					if rule == "" {
						rule = "-"
					}
					rows[i] = []string{ch.Name, res, rule, ch.Local}
				}
				p.Table("", []string{"CHECK", "RESULT", "ON THE LEDGER", "REBUILT"}, rows)
				if ok {
					p.Printf("The module built from %s is the code voted on: %s.\n", dir, r.Hash)
				}
				return failure
			})
		},
	}
}
