package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/urfave/cli/v2"
)

// profileVars are the settings, in the env files network.sh writes
// (netdir/env/<node>.env), that name where a node serves Go's pprof:
// FEDMETER_PPROF=1 sets them for peers, orderers and fedmeter's
// chaincode services.
var profileVars = []string{"CORE_PEER_PROFILE_LISTENADDRESS", "ORDERER_GENERAL_PROFILE_ADDRESS", "FEDMETER_PPROF_ADDRESS"}

// profileTargets reads netdir/env/*.env and returns, by node, the address
// of its pprof server: the nodes started with profiling on.
func profileTargets(netdir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(netdir, "env", "*.env"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range files {
		addr, err := profileAddr(f)
		if err != nil {
			return nil, err
		}
		if addr != "" {
			out[strings.TrimSuffix(filepath.Base(f), ".env")] = addr
		}
	}
	return out, nil
}

// profileAddr returns the pprof address an env file names, or "" when it
// names none or profiling is off in it (a peer's and an orderer's
// ..._PROFILE_ENABLED is not true).
func profileAddr(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	addr, on := "", true
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		switch {
		case !ok:
		case k == "CORE_PEER_PROFILE_ENABLED" || k == "ORDERER_GENERAL_PROFILE_ENABLED":
			on = v == "true"
		case slices.Contains(profileVars, k):
			addr = v
		}
	}
	if !on {
		addr = ""
	}
	return addr, sc.Err()
}

// nodeProfiler takes a CPU profile of every profiled node over each
// step's measured window (--node-profiles): where the network's CPU goes,
// node by node, for the transactions the step measured.
type nodeProfiler struct {
	dir     string
	targets map[string]string // node -> host:port
	client  *http.Client
}

// start begins a CPU profile of every node for d (whole seconds, at least
// one) into dir/<step>/<node>.pprof and returns a function that waits for
// them and reports the nodes that failed.
func (p *nodeProfiler) start(ctx context.Context, step string, d time.Duration) func() error {
	secs := int(d / time.Second)
	if secs < 1 {
		secs = 1
	}
	dir := filepath.Join(p.dir, step)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() error { return fmt.Errorf("node profiles of %s: %w", step, err) }
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []string
	)
	for node, addr := range p.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
			if err := fetchTo(ctx, p.client, url, filepath.Join(dir, node+".pprof")); err != nil {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s (%s): %v", node, addr, err))
				mu.Unlock()
			}
		}()
	}
	return func() error {
		wg.Wait()
		if len(failed) == 0 {
			return nil
		}
		sort.Strings(failed)
		return fmt.Errorf("node profiles of %s: %s", step, strings.Join(failed, "; "))
	}
}

// fetchTo GETs url into file, removing the file if the fetch fails.
func fetchTo(ctx context.Context, c *http.Client, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(file)
		return err
	}
	return f.Close()
}

// benchProfiler checks --node-profiles and returns its profiler, or nil
// without it.
func benchProfiler(c *cli.Context) (*nodeProfiler, error) {
	dir := c.String("node-profiles")
	if dir == "" {
		return nil, nil
	}
	netdir := c.String("netdir")
	if netdir == "" {
		return nil, usageErr(c, "--node-profiles needs --netdir: the network's env files name the nodes' pprof addresses")
	}
	targets, err := profileTargets(netdir)
	if err != nil {
		return nil, client.Errorf(client.KindInvalid, "--node-profiles: reading %s: %v", filepath.Join(netdir, "env"), err)
	}
	if len(targets) == 0 {
		return nil, client.Errorf(client.KindInvalid, "--node-profiles: no node of the network in %s serves pprof", netdir).
			WithHint("start the network with FEDMETER_PPROF=1 (network/fabric/README.md)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, client.Errorf(client.KindInvalid, "--node-profiles %s: %v", dir, errUnwrap(err))
	}
	return &nodeProfiler{dir: dir, targets: targets, client: &http.Client{}}, nil
}
