package app

import (
	"bufio"
	"bytes"
	"embed"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"text/template"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// rule new: a ready rule folder, from the templates in scaffold/.

//go:embed scaffold
var scaffoldFS embed.FS

const (
	sdkModule = "github.com/fedmeter/fedmeter/sdk-rules"
	// sdkPseudo is the version a go.mod names for an SDK it replaces with a
	// directory, as the main module does (DEVELOPERS.md).
	sdkPseudo = "v0.0.0-00010101000000-000000000000"
)

var ruleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// scaffoldData fills the templates.
type scaffoldData struct {
	Name       string
	Module     string // Go: the rule's module path
	GoVersion  string
	SDKVersion string // Go: the require's version
	SDKReplace string // Go: the replace's directory, if any
	SDKWhere   string
	SDKNote    string
	KitDir     string // AssemblyScript: the kit, relative to the rule folder (slashes)
	KitNote    string
}

func ruleNew(st *state) *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "create a ready rule folder: the rule, test vectors and a test that passes",
		UsageText: "fedmeter rule new NAME [--lang go|assemblyscript] [--dir DIR] [--sdk DIR|VERSION] [--module PATH]",
		Description: `Writes a working rule for resources of type NAME into DIR (default ./NAME):
it bills the spec "units" per second at the hourly price "unit_hour", rounded
half up, and refuses what it does not bill. Change it from there. The folder
holds the rule, seven test vectors (testdata/vectors: a bill, a rounding tie,
an empty bill, a missing price, an empty period, an unknown spec, an overflow),
a README with the commands, and:

  --lang go (default)  its own Go module (go.mod) requiring only the rule SDK,
                       github.com/fedmeter/fedmeter/sdk-rules; main_test.go runs
                       the vectors natively with the standard library alone.
  --lang assemblyscript  assembly/index.ts using the fedmeter AssemblyScript kit
                       (sdk-rules/assemblyscript, whose package-lock.json pins
                       the compiler: npm ci there once) and a package.json
                       whose build script is the kit's reproducible build;
                       npm test runs fedmeter rule test . (build, then the
                       vectors in the host).

Where the SDK comes from:
  inside a fedmeter checkout  the checkout's sdk-rules, by a relative path
                              (Go: a replace directive; AssemblyScript: the kit's path)
  --sdk DIR                   a checkout (or its sdk-rules folder) elsewhere, by relative path
                              (Go records a replace path in the module: it is part of the hash)
  --sdk VERSION               Go only: a published SDK (tag sdk-rules/VERSION), then go mod tidy

Then, in DIR:
  go test ./...  or  npm test               the vectors
  fedmeter rule test .                      the vectors in the Wasm host, on both engines
  fedmeter rule run . --input testdata/vectors/01_ninety_minutes.json
  fedmeter rule build .                     the module and its SHA-256, for the upload and the vote`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "lang", Value: "go", Usage: "the rule's `LANGUAGE`: go or assemblyscript"},
			&cli.StringFlag{Name: "dir", Usage: "the folder to create (default ./NAME); it must not exist or be empty"},
			&cli.StringFlag{Name: "sdk", Usage: "where the SDK is: a fedmeter checkout `DIR` (or its sdk-rules), or a published VERSION (Go)"},
			&cli.StringFlag{Name: "module", Usage: "Go: the rule's module `PATH` (default NAME)"},
		},
		Action: func(c *cli.Context) error {
			a, err := args(c, 1, 1, "NAME")
			if err != nil {
				return err
			}
			name := a[0]
			if !ruleNameRE.MatchString(name) {
				return usageErr(c, "NAME %q is not a rule name: lower-case letters, digits, '-' and '_', starting with a letter", name)
			}
			lang := c.String("lang")
			if lang == "as" {
				lang = "assemblyscript"
			}
			if lang != "go" && lang != "assemblyscript" {
				return usageErr(c, "--lang %q is not go or assemblyscript", c.String("lang"))
			}
			if _, err := fs.Stat(scaffoldFS, "scaffold/"+lang); err != nil {
				return client.Errorf(client.KindInvalid, "--lang %s: this fedmeter has no templates for it", lang)
			}
			dir := c.String("dir")
			if dir == "" {
				dir = name
			}
			if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
				return client.Errorf(client.KindInvalid, "%s already exists and is not empty", dir).
					WithHint("choose another --dir, or remove it")
			}
			absDir, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			d := scaffoldData{Name: name, Module: c.String("module"), GoVersion: goVersion()}
			if d.Module == "" {
				d.Module = name
			}
			if err := resolveSDK(c, lang, absDir, &d); err != nil {
				return err
			}
			files, err := writeScaffold(lang, dir, &d)
			if err != nil {
				return err
			}
			p := st.printer(c)
			if p.json {
				return p.JSON(map[string]any{"dir": dir, "lang": lang, "files": files, "sdk": d.SDKWhere})
			}
			p.Printf("Created the %s rule %q in %s:\n", langName(lang), name, dir)
			for _, f := range files {
				p.Printf("  %s\n", f)
			}
			p.Printf("SDK: %s\n\nNext, in %s:\n", d.SDKWhere, dir)
			if lang == "go" {
				if d.SDKReplace == "" {
					p.Printf("  go mod tidy                    # fetch the SDK %s\n", d.SDKVersion)
				}
				p.Printf("  go test ./...                  # the vectors, natively\n")
			} else {
				p.Printf("  (cd %s && npm ci)   # once: the kit's pinned compiler\n", d.KitDir)
				p.Printf("  npm test                       # build, then the vectors in the Wasm host\n")
			}
			p.Printf("  fedmeter rule test .           # the vectors in the Wasm host, on both engines\n")
			p.Printf("  fedmeter rule build .          # the reproducible module and its SHA-256\n")
			return nil
		},
	}
}

func langName(lang string) string {
	if lang == "go" {
		return "Go"
	}
	return "AssemblyScript"
}

// goVersion is the go line of a new go.mod: this toolchain's major.minor.0
// (the SDK's own go line, when the checkout is known: see resolveSDK).
func goVersion() string {
	v := strings.TrimPrefix(runtime.Version(), "go")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1] + ".0"
	}
	return v
}

// findCheckout returns the root of the fedmeter checkout holding dir (or
// one of its parents), or "".
func findCheckout(dir string) string {
	for d := dir; ; {
		if isCheckout(d) {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

func isCheckout(d string) bool {
	f, err := os.Open(filepath.Join(d, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() || strings.TrimSpace(s.Text()) != "module github.com/fedmeter/fedmeter" {
		return false
	}
	_, err = os.Stat(filepath.Join(d, "sdk-rules", "go.mod"))
	return err == nil
}

// resolveSDK decides where the rule finds the SDK (see the command's help).
func resolveSDK(c *cli.Context, lang, absDir string, d *scaffoldData) error {
	sdk := c.String("sdk")
	var checkout string
	relative := false
	switch {
	case sdk != "" && strings.HasPrefix(sdk, "v") && !isDir(sdk):
		if lang != "go" {
			return usageErr(c, "--sdk %s: the AssemblyScript kit is not published; give a fedmeter checkout DIR", sdk)
		}
		d.SDKVersion = sdk
		d.SDKWhere = "the published module " + sdkModule + "@" + sdk
		d.SDKNote = "`" + sdkModule + "@" + sdk + "`, from the module proxy (go.mod's require)."
		return nil
	case sdk != "":
		abs, err := filepath.Abs(sdk)
		if err != nil {
			return err
		}
		if filepath.Base(abs) == "sdk-rules" && isCheckout(filepath.Dir(abs)) {
			abs = filepath.Dir(abs)
		}
		if !isCheckout(abs) {
			return client.Errorf(client.KindInvalid, "--sdk %s is not a fedmeter checkout (no go.mod of github.com/fedmeter/fedmeter with sdk-rules/ beside it)", sdk).
				WithHint("give the checkout's folder or its sdk-rules, or (Go) a published version such as v0.1.0")
		}
		checkout = abs
	default:
		checkout = findCheckout(absDir)
		if checkout == "" {
			return client.Errorf(client.KindInvalid, "%s is outside a fedmeter checkout, so the SDK's place is unknown", absDir).
				WithHint("say where it is: --sdk DIR (a fedmeter checkout) or, for Go, --sdk VERSION (a published sdk-rules/VERSION)")
		}
		relative = true
	}
	target := filepath.Join(checkout, "sdk-rules")
	if v := goLine(filepath.Join(target, "go.mod")); v != "" {
		d.GoVersion = v
	}
	if lang == "assemblyscript" {
		target = filepath.Join(target, "assemblyscript")
	}
	// A relative path, even to a checkout elsewhere: Go records the replace
	// directory in the module's build info, so an absolute one would make
	// the bytes (and the hash voted on) depend on this machine's layout.
	ref := target
	if r, err := filepath.Rel(absDir, target); err == nil {
		ref = r
	}
	ref = filepath.ToSlash(ref)
	if lang == "go" {
		d.SDKVersion = sdkPseudo
		d.SDKReplace = ref
		if relative {
			d.SDKWhere = "this checkout's sdk-rules, " + ref + " (a replace directive in go.mod)"
			d.SDKNote = "this fedmeter checkout's `sdk-rules`, by the relative path `" + ref + "` (go.mod's replace): the rule and the SDK move together, as in the main module, and any clone builds the same bytes (Go records the replace path in the module's build info, so keep it relative). Outside a checkout, name a published SDK version in go.mod's require and drop the replace."
		} else {
			d.SDKWhere = "the checkout at " + checkout + ", by the relative path " + ref + " (a replace directive in go.mod)"
			d.SDKNote = "the fedmeter checkout's `sdk-rules` at `" + ref + "` (go.mod's replace). Go records that path in the module's build info, so the SHA-256 is reproducible where the rule and the checkout sit the same way relative to each other; for a hash anyone can rebuild anywhere, require a published SDK version instead."
		}
		return nil
	}
	d.KitDir = ref
	if relative {
		d.SDKWhere = "this checkout's AssemblyScript kit, " + ref
		d.KitNote = "this fedmeter checkout's AssemblyScript kit, by the relative path `" + ref + "` (package.json's dependency)."
	} else {
		d.SDKWhere = "the AssemblyScript kit at " + ref
		d.KitNote = "the fedmeter checkout's AssemblyScript kit at `" + ref + "` (package.json's dependency)."
	}
	return nil
}

// goLine returns the go directive of a go.mod, or "".
func goLine(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// writeScaffold writes the templates of lang and the shared vectors into dir.
func writeScaffold(lang, dir string, d *scaffoldData) ([]string, error) {
	type file struct{ src, dst string }
	var files []file
	err := fs.WalkDir(scaffoldFS, "scaffold/"+lang, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		dst := strings.TrimSuffix(strings.TrimPrefix(p, "scaffold/"+lang+"/"), ".tmpl")
		if dst == "gitignore" { // embed leaves out dot files
			dst = ".gitignore"
		}
		files = append(files, file{p, dst})
		return nil
	})
	if err != nil {
		return nil, err
	}
	vecs, err := fs.ReadDir(scaffoldFS, "scaffold/vectors")
	if err != nil {
		return nil, err
	}
	for _, e := range vecs {
		files = append(files, file{path.Join("scaffold/vectors", e.Name()), path.Join("testdata/vectors", strings.TrimSuffix(e.Name(), ".tmpl"))})
	}
	var written []string
	for _, f := range files {
		src, err := scaffoldFS.ReadFile(f.src)
		if err != nil {
			return nil, err
		}
		out := src
		if strings.HasSuffix(f.src, ".tmpl") {
			t, err := template.New(f.src).Delims("{{", "}}").Parse(string(src))
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			if err := t.Execute(&buf, d); err != nil {
				return nil, err
			}
			out = buf.Bytes()
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.dst))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, client.Errorf(client.KindInvalid, "%s cannot be created: %v", filepath.Dir(dst), err)
		}
		if err := os.WriteFile(dst, out, 0o644); err != nil {
			return nil, client.Errorf(client.KindInvalid, "%s cannot be written: %v", dst, err)
		}
		written = append(written, filepath.ToSlash(f.dst))
	}
	return written, nil
}
