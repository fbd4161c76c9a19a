package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fedmeter/fedmeter/cli/client"
	"github.com/fedmeter/fedmeter/cli/internal/agent"
	"github.com/urfave/cli/v2"
)

const agentHelp = `A long-running metering agent: it reads raw samples, aggregates them per
resource, metric and period off the ledger, and submits each closed period as
one usage record per resource and metric, with an ID derived from resource,
metric and period (so a resubmission is a duplicate, never a double count).

INPUTS (any mix):
   --file PATH       JSON lines from a file, or from the files of a directory
                     (--pattern, default *.jsonl), tailed: rotation by rename,
                     a new file at the same path and truncation are followed
   -                 JSON lines from stdin (not replayable: a crash loses what
                     was read since the last checkpoint; prefer a file)
   --scrape URL      a Prometheus or OpenMetrics text endpoint, every
                     --scrape-interval (the resource is a label, labels.resource)

A sample line, with the default field names (the config's fields: rename them):
   {"resource":"ecs-1","metric":"mem_bytes","value":2147483648,"time":1767229200}
time is Unix seconds (fields.time_unit: ms for milliseconds) or RFC 3339.

CONFIG (YAML, --config):
   period: 1h          # periods are aligned to the Unix epoch, UTC
   lateness: 5m        # the watermark: a sample may arrive this late
   clock: event        # event: only sample times close periods (replays are
                       # exact); wall: the wall clock too (quiet streams close)
   fields: {resource: resource, metric: metric, value: value, time: time}
   metrics:
     - {sample: net_tx_bytes, metric: egress_gib, aggregate: sum, divide: 1073741824}
     - {sample: mem_bytes, metric: memory_gib_seconds, aggregate: integral, divide: 1073741824, per: 1s}
     - {sample: cpu_seconds, aggregate: sum}
     - {sample: temp_c, metric: temp_max_dc, aggregate: max, scale: 1, offset: 100}
   aggregate: sum, max, min, avg, latest, or integral (value x time, each value
   held until the next sample, at most max_gap). Values are exact decimals kept
   to scale digits (scale 1: the quantity counts tenths); the quantity is the
   aggregate / divide (/ per for an integral), rounded half away from zero once
   per period, so a sum of integers is exact. offset (max, min, avg, latest) is
   added first: the ledger holds no negative quantity (-18.5 C + 100 = 81.5).

RESTARTS: --state DIR holds a checkpoint (input offsets, open periods,
watermark) and a spool of closed periods not yet on the ledger, each written
atomically. Kill the agent at any moment and start it again with the same
--state: nothing is lost and nothing is counted twice. A ledger outage is
retried with backoff (the spool grows meanwhile; lag_seconds shows it).
Records the ledger refuses for good (no such resource, a metric the type
lacks) are set aside in DIR/rejected/ with the reason.

EXAMPLES:
   # tail a directory of sensor logs, submit hourly, as Org1's agent
   fedmeter --as Org1/Agent1 agent --config agent.yaml --state agent-state --file sensors/

   # scrape a node exporter every 15s, serve the agent's own metrics
   fedmeter --as Org1/Agent1 agent --config agent.yaml --state st --scrape http://node1:9100/metrics --metrics-listen :9464

   # backfill: read a file to its end, submit every period, exit
   fedmeter --as Org1/Agent1 agent --config agent.yaml --state st --file samples.jsonl --once

   # through a fedmeter server instead of the local ledger
   FEDMETER_TOKEN=... fedmeter --server https://ledger.example.org agent --config agent.yaml --state st -

See docs/ingest.md for a sensor stream end to end.`

func agentCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:        "agent",
		Category:    "Resources",
		Usage:       "aggregate raw samples (files, stdin, Prometheus scrapes) into usage periods and submit them; restart-safe",
		UsageText:   "fedmeter agent --config FILE --state DIR [--file PATH]... [--scrape URL]... [-] [--once]",
		Description: agentHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "the YAML configuration `FILE` (see above)", Required: true},
			&cli.StringFlag{Name: "state", Value: ".fedmeter-agent", Usage: "the state `DIR`: checkpoint, spool, rejected records (one agent per DIR)"},
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "tail JSON lines from `PATH`, a file or a directory (repeatable)"},
			&cli.StringFlag{Name: "pattern", Value: "*.jsonl", Usage: "the files of a --file directory to read, a `GLOB`"},
			&cli.StringSliceFlag{Name: "scrape", Usage: "scrape a Prometheus/OpenMetrics text endpoint at `URL` (repeatable)"},
			&cli.DurationFlag{Name: "scrape-interval", Value: 15 * time.Second, Usage: "how often to scrape, a `DURATION`"},
			&cli.BoolFlag{Name: "once", Usage: "read the files and stdin to their end, close every period, submit, exit"},
			&cli.IntFlag{Name: "batch", Value: 500, Usage: "records per transaction, `N` (at most 1000)"},
			&cli.StringFlag{Name: "metrics-listen", Usage: "serve the agent's own metrics (Prometheus text) at `ADDR`/metrics, e.g. :9464"},
			&cli.DurationFlag{Name: "poll", Value: 500 * time.Millisecond, Usage: "how often to look for more lines in the files, a `DURATION`"},
			&cli.DurationFlag{Name: "checkpoint-every", Value: time.Second, Usage: "write the checkpoint at least this often while reading, a `DURATION`"},
			&cli.DurationFlag{Name: "retry-max", Value: time.Minute, Usage: "the longest wait between submission retries, a `DURATION`"},
			&cli.DurationFlag{Name: "status-every", Value: time.Minute, Usage: "print a status line (samples, spool, lag) this often, a `DURATION`; 0: never"},
		},
		Action: func(c *cli.Context) error { return st.agent(c) },
	}
}

func (st *state) agent(c *cli.Context) error {
	a, err := args(c, 0, 1, "[-]")
	if err != nil {
		return err
	}
	stdin := len(a) == 1
	if stdin && a[0] != "-" {
		return usageErr(c, "%q is not an input: name files with --file, endpoints with --scrape, and stdin with -", a[0])
	}
	cfg, err := agent.LoadConfig(c.String("config"))
	if err != nil {
		return client.Errorf(client.KindInvalid, "%s", err.Error()).WithHint("see `fedmeter agent --help` for the configuration's keys")
	}
	files, scrapes := c.StringSlice("file"), c.StringSlice("scrape")
	if len(files) == 0 && len(scrapes) == 0 && !stdin {
		return usageErr(c, "fedmeter agent needs an input: --file PATH, --scrape URL or - (stdin)")
	}
	if b := c.Int("batch"); b < 1 || b > client.MaxUsageBatch {
		return usageErr(c, "--batch %d is not valid: it must be between 1 and %d", b, client.MaxUsageBatch)
	}
	if c.Bool("once") && len(scrapes) > 0 {
		return usageErr(c, "--once reads inputs to their end, but a --scrape endpoint has none")
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &agent.Metrics{}
	if addr := c.String("metrics-listen"); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return client.Errorf(client.KindInvalid, "--metrics-listen %s: %v", addr, errUnwrap(err))
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(st.io.Stderr, "agent: metrics at http://%s/metrics\n", ln.Addr())
	}
	if every := c.Duration("status-every"); every > 0 {
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					fmt.Fprintf(st.io.Stderr, "agent: %d samples read (%d late, %d invalid, %d ignored); %d records accepted, %d duplicates, %d rejected; spool %d records; lag %s\n",
						m.SamplesRead.Load(), m.SamplesLate.Load(), m.SamplesInvalid.Load(), m.SamplesIgnored.Load(),
						m.RecordsAccepted.Load(), m.RecordsDuplicate.Load(), m.RecordsRejected.Load(), m.SpoolRecords.Load(), m.Lag().Truncate(time.Second))
				}
			}
		}()
	}
	o := agent.Options{
		Config: cfg, StateDir: c.String("state"), Files: files, Pattern: c.String("pattern"),
		Scrape: scrapes, ScrapeInterval: c.Duration("scrape-interval"),
		Open:      func(context.Context) (client.Backend, error) { return st.open(c) },
		BatchSize: c.Int("batch"), Once: c.Bool("once"), Poll: c.Duration("poll"),
		CheckpointEvery: c.Duration("checkpoint-every"), RetryMax: c.Duration("retry-max"),
		Log: st.io.Stderr, Metrics: m,
	}
	if stdin {
		o.Stdin = st.io.Stdin
	}
	err = agent.Run(ctx, o)
	if err != nil {
		if errors.Is(err, agent.ErrState) || errors.Is(err, agent.ErrConfig) {
			return client.Errorf(client.KindInvalid, "%s", err.Error())
		}
		return client.Errorf(client.KindInternal, "%s", err.Error())
	}
	p := st.printer(c)
	if p.json {
		return p.JSON(map[string]int64{
			"samples_read": m.SamplesRead.Load(), "samples_late": m.SamplesLate.Load(), "samples_invalid": m.SamplesInvalid.Load(),
			"samples_ignored": m.SamplesIgnored.Load(), "records_accepted": m.RecordsAccepted.Load(),
			"records_duplicate": m.RecordsDuplicate.Load(), "records_rejected": m.RecordsRejected.Load(), "spool_records": m.SpoolRecords.Load(),
		})
	}
	p.Printf("Agent stopped: %d samples read (%d late, %d invalid, %d ignored); %d records accepted, %d already on the ledger, %d rejected; %d records left in the spool.\n",
		m.SamplesRead.Load(), m.SamplesLate.Load(), m.SamplesInvalid.Load(), m.SamplesIgnored.Load(),
		m.RecordsAccepted.Load(), m.RecordsDuplicate.Load(), m.RecordsRejected.Load(), m.SpoolRecords.Load())
	return nil
}
