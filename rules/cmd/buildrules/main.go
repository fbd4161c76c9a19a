// Command buildrules builds billing rules into Wasm modules reproducibly and
// prints each module's SHA-256, in the format of sha256sum:
//
//	go run ./rules/cmd/buildrules -out build/rules rules/ecs rules/storage ...
//
// Each argument is a rule directory; its module is written to OUT/<dir
// name>.wasm. A directory with a Go main package is built with the
// rules/build package (see there for the flags). A directory without Go
// source files but with exactly one .wasm file next to its source (a rule
// written in another language, e.g. rules/wat-flat) has that file copied.
//
// With -check, every Go rule is built twice and the two builds must be
// identical byte for byte.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fedmeter/fedmeter/rules/build"
)

func main() {
	out := flag.String("out", "build/rules", "output `directory`")
	check := flag.Bool("check", false, "build every Go rule twice and fail unless the bytes match")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: buildrules [-out dir] [-check] ruledir...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	failed := false
	for _, dir := range flag.Args() {
		a, err := one(context.Background(), dir, *out, *check)
		if err != nil {
			fmt.Fprintln(os.Stderr, "buildrules:", err)
			failed = true
			continue
		}
		fmt.Printf("%s  %s\n", a.Hex(), a.File)
	}
	if failed {
		os.Exit(1)
	}
}

func one(ctx context.Context, dir, outDir string, check bool) (*build.Artifact, error) {
	name := filepath.Base(filepath.Clean(dir))
	outFile := filepath.Join(outDir, name+".wasm")
	goFiles, wasmFiles, err := build.Scan(dir)
	if err != nil {
		return nil, err
	}
	if !goFiles {
		if len(wasmFiles) != 1 {
			return nil, fmt.Errorf("%s: no Go main package and %d .wasm files (want exactly one)", dir, len(wasmFiles))
		}
		return build.Copy(wasmFiles[0], outFile)
	}
	a, err := build.Rule(ctx, dir, outFile)
	if err != nil {
		return nil, err
	}
	if check {
		tmp, err := os.MkdirTemp("", "buildrules-check-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		b, err := build.Rule(ctx, dir, filepath.Join(tmp, name+".wasm"))
		if err != nil {
			return nil, err
		}
		if a.SHA256 != b.SHA256 {
			return nil, fmt.Errorf("%s: two builds differ: %s and %s", dir, a.Hex(), b.Hex())
		}
	}
	return a, nil
}
