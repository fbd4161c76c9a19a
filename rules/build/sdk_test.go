package build

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sdkModule is the rule SDK, a nested module of this repository.
const sdkModule = "github.com/fedmeter/fedmeter/sdk-rules"

// sdkGo runs the go command inside the SDK's module (not this one), for the
// given target.
func sdkGo(t *testing.T, goos, goarch string, args ...string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "sdk-rules"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(GoCommand(), args...)
	cmd.Dir = dir
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "GOFLAGS", "GOWORK", "CGO_ENABLED":
		default:
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s in sdk-rules (%s/%s): %v\n%s", strings.Join(args, " "), goos, goarch, err, stderr.String())
	}
	return string(out)
}

// TestSDKIsGuestOnly holds the rule SDK to what a rule author's `go get`
// should pull in: its own packages and the standard library, nothing of host,
// Fabric or bbolt. It lists the dependencies of every SDK package and its
// tests, natively and for the Wasm target (export_wasip1.go builds only
// there), and the SDK's module graph, which must be the SDK alone.
func TestSDKIsGuestOnly(t *testing.T) {
	if mods := strings.Fields(sdkGo(t, "wasip1", "wasm", "list", "-m", "all")); len(mods) != 1 || mods[0] != sdkModule {
		t.Errorf("the SDK's module graph is %v, want only %s (its go.mod must require nothing)", mods, sdkModule)
	}
	for _, target := range [][2]string{{"wasip1", "wasm"}, {"linux", "amd64"}} {
		for _, test := range []bool{false, true} {
			args := []string{"list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}"}
			if test {
				args = append(args, "-test")
			}
			out := sdkGo(t, target[0], target[1], append(args, "./...")...)
			std, own := 0, 0
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				path, standard, _ := strings.Cut(line, " ")
				path, _, _ = strings.Cut(path, " [") // "p [p.test]": p compiled for its tests
				switch {
				case standard == "true":
					std++
				case path == sdkModule || strings.HasPrefix(path, sdkModule+"/"):
					own++
				default:
					t.Errorf("%s/%s (tests %v): the SDK depends on %s; it may use only the standard library", target[0], target[1], test, path)
				}
			}
			if own == 0 {
				t.Errorf("%s/%s: go list found no SDK package", target[0], target[1])
			}
			t.Logf("%s/%s, tests %-5v: %d standard packages, %d of the SDK", target[0], target[1], test, std, own)
		}
	}
}
