//go:build unix

// Command load measures a Fabric network through fabric-gateway: writes
// (submit = endorse + order + commit) or reads (evaluate) of a contract, at
// one or more levels of transactions in flight, using an org's connection
// profile written by network/fabric/network.sh.
//
//	go run ./network/fabric/putget/load -profile ~/.fedmeter/fabric/profiles/org1.yaml \
//	    -chaincode putget -mode submit -inflight 1,32,128 -duration 20s
//
// With -netdir (the network's state folder) it also reports the CPU time the
// network's processes (orderers, peers, chaincode services) spent per
// transaction, read from /proc (Linux only).
//
// The default transaction is the putget contract's Put(key, value) with a
// fresh key each time (no MVCC conflicts) and Get(key) of a key written once
// before the run. -fn and -args run any other function instead (e.g. one of
// fedmeter's, -chaincode fedmeter); "{n}" in an argument is replaced by a
// string unique to the transaction, so that IDs do not repeat.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fedmeter/fedmeter/network/fabric/internal/gw"
	"github.com/hyperledger/fabric-gateway/pkg/client"
)

func main() {
	var (
		profilePath = flag.String("profile", filepath.Join(os.Getenv("HOME"), ".fedmeter/fabric/profiles/org1.yaml"), "connection profile (YAML) written by network.sh")
		endpoint    = flag.String("endpoint", "", "gateway peer host:port (default: the profile's)")
		channel     = flag.String("channel", "", "channel (default: the profile's)")
		chaincode   = flag.String("chaincode", "putget", "chaincode name")
		mode        = flag.String("mode", "submit", "submit (write: endorse, order, commit) or evaluate (read)")
		inflight    = flag.String("inflight", "1,32,128", "comma-separated transactions in flight; one step each")
		duration    = flag.Duration("duration", 20*time.Second, "measured time per step")
		warmup      = flag.Duration("warmup", 3*time.Second, "unmeasured time before each step")
		fn          = flag.String("fn", "", "function to call instead of Put/Get")
		fnArgs      = flag.String("args", "", "arguments for -fn: comma-separated, or a JSON array of strings; {n} is replaced by a unique string")
		netdir      = flag.String("netdir", "", "network state folder (for CPU per transaction), e.g. ~/.fedmeter/fabric")
	)
	flag.Parse()

	p, err := gw.Load(*profilePath)
	if err != nil {
		log.Fatal(err)
	}
	if *endpoint != "" {
		p.Endpoint = *endpoint
	}
	if *channel != "" {
		p.Channel = *channel
	}
	conn, err := p.Connect("")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	contract := conn.GetNetwork(p.Channel).GetContract(*chaincode)

	var seq atomic.Uint64
	run := txFunc(contract, *mode, *fn, *fnArgs, &seq)
	if run == nil {
		log.Fatalf("unknown -mode %q", *mode)
	}
	if *mode == "evaluate" && *fn == "" {
		if _, err := contract.SubmitTransaction("Put", "load-read-key", "load-read-value"); err != nil {
			log.Fatalf("preparing the read key: %v", err)
		}
	}
	// Readiness: a transaction of the same kind must succeed first.
	ready := time.Now().Add(60 * time.Second)
	for {
		err := run()
		if err == nil {
			break
		}
		if time.Now().After(ready) {
			log.Fatalf("network not ready: %v", err)
		}
		time.Sleep(time.Second)
	}

	fmt.Printf("# %s %s on %s/%s via %s (%s)\n", *mode, fnName(*mode, *fn), p.Channel, *chaincode, p.Endpoint, p.MSPID)
	fmt.Printf("%-9s %9s %9s %9s %9s %9s %7s %12s %12s\n", "inflight", "tx", "tx/s", "p50 ms", "p95 ms", "p99 ms", "errors", "net CPU ms/tx", "client ms/tx")
	for _, s := range strings.Split(*inflight, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("bad -inflight value %q", s)
		}
		r := step(run, n, *warmup, *duration, *netdir)
		fmt.Printf("%-9d %9d %9.1f %9.1f %9.1f %9.1f %7d %12s %12.2f\n", n, r.count, r.tps, ms(r.p50), ms(r.p95), ms(r.p99), r.errors, r.netCPU, r.clientCPU)
		if r.firstErr != nil {
			fmt.Printf("#   first error: %v\n", r.firstErr)
		}
	}
}

func fnName(mode, fn string) string {
	if fn != "" {
		return fn
	}
	if mode == "evaluate" {
		return "Get"
	}
	return "Put"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func txFunc(c *client.Contract, mode, fn, args string, seq *atomic.Uint64) func() error {
	prefix := fmt.Sprintf("load-%d-%d-", os.Getpid(), time.Now().UnixNano())
	argv := func() []string {
		n := strconv.FormatUint(seq.Add(1), 10)
		if fn == "" {
			return []string{prefix + n, "value-" + n}
		}
		if args == "" {
			return nil
		}
		var a []string
		if strings.HasPrefix(args, "[") {
			if err := json.Unmarshal([]byte(args), &a); err != nil {
				log.Fatalf("-args: %v", err)
			}
		} else {
			a = strings.Split(args, ",")
		}
		for i := range a {
			a[i] = strings.ReplaceAll(a[i], "{n}", prefix+n)
		}
		return a
	}
	switch mode {
	case "submit":
		name := fnName(mode, fn)
		return func() error { _, err := c.SubmitTransaction(name, argv()...); return err }
	case "evaluate":
		if fn == "" {
			return func() error { _, err := c.EvaluateTransaction("Get", "load-read-key"); return err }
		}
		return func() error { _, err := c.EvaluateTransaction(fn, argv()...); return err }
	}
	return nil
}

type result struct {
	count, errors int
	tps           float64
	p50, p95, p99 time.Duration
	netCPU        string
	clientCPU     float64
	firstErr      error
}

// step keeps n transactions in flight for warmup+d and measures the last d.
func step(run func() error, n int, warmup, d time.Duration, netdir string) result {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		measuring atomic.Bool
		mu        sync.Mutex
		lat       []time.Duration
		errs      int
		firstErr  error
		wg        sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				err := run()
				el := time.Since(t0)
				if !measuring.Load() || ctx.Err() != nil {
					continue
				}
				mu.Lock()
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					lat = append(lat, el)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(warmup)
	cpu0, _ := netCPU(netdir)
	self0 := selfCPU()
	mu.Lock()
	measuring.Store(true)
	start := time.Now()
	mu.Unlock()
	time.Sleep(d)
	mu.Lock()
	measuring.Store(false)
	el := time.Since(start)
	got := append([]time.Duration(nil), lat...)
	r := result{errors: errs, firstErr: firstErr}
	mu.Unlock()
	cpu1, cpuErr := netCPU(netdir)
	self1 := selfCPU()
	cancel()
	wg.Wait()

	r.count = len(got)
	r.tps = float64(r.count) / el.Seconds()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	pct := func(q float64) time.Duration {
		if len(got) == 0 {
			return 0
		}
		return got[min(len(got)-1, int(q*float64(len(got))))]
	}
	r.p50, r.p95, r.p99 = pct(0.50), pct(0.95), pct(0.99)
	r.netCPU = "-"
	if netdir != "" && cpuErr == nil && r.count > 0 {
		r.netCPU = fmt.Sprintf("%.2f", float64(cpu1-cpu0)/float64(r.count))
	}
	if r.count > 0 {
		r.clientCPU = float64(self1-self0) / float64(r.count)
	}
	return r
}

// netCPU sums user+system CPU (ms) of the processes whose pids network.sh
// recorded in netdir/run.
func netCPU(netdir string) (int64, error) {
	if netdir == "" {
		return 0, errors.New("no netdir")
	}
	files, err := filepath.Glob(filepath.Join(netdir, "run", "*.pid"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("no pid files in %s/run", netdir)
	}
	var total int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/stat")
		if err != nil {
			return 0, err
		}
		// Fields after the parenthesised command: state is field 3; utime and
		// stime are fields 14 and 15, in clock ticks (100 per second on Linux).
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 13 {
			return 0, fmt.Errorf("short /proc stat for %s", f)
		}
		u, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		total += (u + st) * 10
	}
	return total, nil
}

func selfCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return (ru.Utime.Nano() + ru.Stime.Nano()) / 1e6
}
