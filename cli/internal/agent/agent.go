package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// Options configure a Run.
type Options struct {
	Config *Config
	// StateDir holds the checkpoint and the spool (created if missing).
	StateDir string
	// Files are JSON-lines files or directories to tail; Pattern selects
	// the files of a directory (default "*.jsonl").
	Files   []string
	Pattern string
	// Stdin, if set, is read for JSON lines too (not replayable: what was
	// read since the last checkpoint is lost in a crash).
	Stdin io.Reader
	// Scrape are URLs of Prometheus/OpenMetrics text endpoints, fetched
	// every ScrapeInterval.
	Scrape         []string
	ScrapeInterval time.Duration
	// Open opens the ledger for one round of submissions; the agent closes
	// it after the round (an embedded ledger is held only while writing).
	Open func(ctx context.Context) (client.Backend, error)
	// BatchSize is the records per transaction (default 500).
	BatchSize int
	// Once: read the files (and stdin) to their end, close every period,
	// submit everything, and return. For backfills and tests.
	Once bool
	// Poll is how often files are checked for more (default 500ms);
	// CheckpointEvery how often the checkpoint is written while reading
	// (default 1s; and always when periods close).
	Poll            time.Duration
	CheckpointEvery time.Duration
	// RetryMin and RetryMax bound the backoff after a failed submission
	// (default 1s, 1m).
	RetryMin, RetryMax time.Duration
	// Log receives one line per event worth a person's attention.
	Log io.Writer
	// Metrics, if set, is updated as the agent works.
	Metrics *Metrics
	// Now is the wall clock (default time.Now).
	Now func() time.Time
}

// Metrics are the agent's own counters and gauges, served in the
// Prometheus text format by ServeHTTP.
type Metrics struct {
	SamplesRead, SamplesIgnored, SamplesInvalid, SamplesLate atomic.Int64
	PeriodsClosed, RecordsSpooled, RecordsAccepted           atomic.Int64
	RecordsDuplicate, RecordsRejected, SubmitErrors          atomic.Int64
	ScrapeErrors                                             atomic.Int64
	SpoolRecords, SpoolFiles                                 atomic.Int64
	// Unix ms: the watermark, the end of the last closed period, and the
	// end of the oldest closed period not yet submitted (0: none).
	Watermark, ClosedTo, OldestUnsubmitted atomic.Int64
	now                                    func() time.Time
}

// Lag is how long ago the oldest closed-but-unsubmitted period ended (0
// when everything closed is on the ledger).
func (m *Metrics) Lag() time.Duration {
	o := m.OldestUnsubmitted.Load()
	if o == 0 {
		return 0
	}
	now := time.Now
	if m.now != nil {
		now = m.now
	}
	return now().Sub(time.UnixMilli(o))
}

// ServeHTTP writes the metrics in the Prometheus text format 0.0.4.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	c := func(name, help string, v int64) {
		fmt.Fprintf(w, "# HELP fedmeter_agent_%s %s\n# TYPE fedmeter_agent_%s counter\nfedmeter_agent_%s %d\n", name, help, name, name, v)
	}
	g := func(name, help string, v float64) {
		fmt.Fprintf(w, "# HELP fedmeter_agent_%s %s\n# TYPE fedmeter_agent_%s gauge\nfedmeter_agent_%s %g\n", name, help, name, name, v)
	}
	c("samples_read_total", "Samples read from every input.", m.SamplesRead.Load())
	c("samples_ignored_total", "Samples of a metric no rule names.", m.SamplesIgnored.Load())
	c("samples_invalid_total", "Lines or scraped samples that could not be read.", m.SamplesInvalid.Load())
	c("samples_late_total", "Samples for a period already closed (dropped).", m.SamplesLate.Load())
	c("periods_closed_total", "Periods closed (each close may close many resources' periods).", m.PeriodsClosed.Load())
	c("records_spooled_total", "Usage records written to the spool.", m.RecordsSpooled.Load())
	c("records_accepted_total", "Usage records the ledger accepted.", m.RecordsAccepted.Load())
	c("records_duplicate_total", "Usage records the ledger already had (resubmissions).", m.RecordsDuplicate.Load())
	c("records_rejected_total", "Usage records the ledger refused for good (see the state directory's rejected/).", m.RecordsRejected.Load())
	c("submit_errors_total", "Failed submission attempts (retried with backoff).", m.SubmitErrors.Load())
	c("scrape_errors_total", "Failed scrapes.", m.ScrapeErrors.Load())
	g("spool_records", "Usage records closed but not yet on the ledger.", float64(m.SpoolRecords.Load()))
	g("watermark_seconds", "The watermark: periods ending before it are closed (Unix seconds).", float64(m.Watermark.Load())/1000)
	g("closed_to_seconds", "The end of the last closed period (Unix seconds).", float64(m.ClosedTo.Load())/1000)
	g("lag_seconds", "How long ago the oldest closed period not yet on the ledger ended (0: none).", m.Lag().Seconds())
}

type agent struct {
	o     Options
	agg   *Aggregator
	parse *lineParser
	tail  *tailer
	m     *Metrics
	logMu sync.Mutex
	// committed is the closed_to of the last checkpoint: the submitter
	// takes only spool files at or before it.
	committed atomic.Int64
	kick      chan struct{}
	// errors of lines, reported sparingly
	lineErrs int64
	// dirty: read something since the last checkpoint
	dirty bool
	// spoolInfo: records and oldest period end of each spool file
	// (submitter only)
	spoolInfo map[string][2]int64
}

func (ag *agent) logf(format string, args ...any) {
	if ag.o.Log == nil {
		return
	}
	ag.logMu.Lock()
	defer ag.logMu.Unlock()
	fmt.Fprintf(ag.o.Log, "agent: "+format+"\n", args...)
}

// Run runs the agent until ctx ends (or, with Once, until everything read
// is on the ledger). It resumes from the state directory's checkpoint.
func Run(ctx context.Context, o Options) error {
	if o.Config == nil || o.StateDir == "" || o.Open == nil {
		return errors.New("agent: Config, StateDir and Open are required")
	}
	if o.Once && len(o.Scrape) > 0 {
		return errors.New("agent: --once reads files and stdin to their end; a scraped endpoint has no end")
	}
	if o.Pattern == "" {
		o.Pattern = "*.jsonl"
	}
	if _, err := filepath.Match(o.Pattern, ""); err != nil {
		return fmt.Errorf("agent: pattern %q is not valid: %v", o.Pattern, err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Poll, 500*time.Millisecond)
	def(&o.CheckpointEvery, time.Second)
	def(&o.ScrapeInterval, 15*time.Second)
	def(&o.RetryMin, time.Second)
	def(&o.RetryMax, time.Minute)
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = &Metrics{}
	}
	o.Metrics.now = o.Now
	for _, d := range []string{o.StateDir, filepath.Join(o.StateDir, spoolDir), filepath.Join(o.StateDir, rejectedDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("agent: state directory: %v", err)
		}
	}
	lock, err := lockState(o.StateDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	// Temporary files of writes a crash interrupted: never renamed, so
	// never part of the state.
	for _, d := range []string{o.StateDir, filepath.Join(o.StateDir, spoolDir), filepath.Join(o.StateDir, rejectedDir)} {
		tmps, _ := filepath.Glob(filepath.Join(d, ".*.tmp*"))
		for _, f := range tmps {
			os.Remove(f)
		}
	}
	ag := &agent{o: o, agg: NewAggregator(o.Config), parse: newLineParser(o.Config), m: o.Metrics, kick: make(chan struct{}, 1)}
	cp, err := readCheckpoint(o.StateDir)
	if err != nil {
		return err
	}
	var files []fileOffset
	if cp != nil {
		if err := ag.agg.restore(cp); err != nil {
			return err
		}
		files = cp.Files
	}
	// A spool file newer than the checkpoint: the agent stopped between
	// writing it and the checkpoint. Its periods are closed: samples of
	// them read again are late, not counted twice.
	_, tos, err := spoolFiles(o.StateDir)
	if err != nil {
		return err
	}
	if n := len(tos); n > 0 && tos[n-1] > ag.agg.ClosedTo {
		ag.agg.Close(tos[n-1]) // the records are in the spool already
	}
	ag.tail = newTailer(o.Files, o.Pattern, files)
	defer ag.tail.close()
	if err := ag.save(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	subDone := make(chan error, 1)
	inputsDone := make(chan struct{})
	go func() {
		err := ag.submitLoop(ctx, inputsDone)
		if err != nil {
			cancel() // the submitter cannot go on: stop reading too
		}
		subDone <- err
	}()
	err = ag.loop(ctx, inputsDone)
	if err != nil {
		cancel()
		<-subDone
		return err
	}
	if !o.Once {
		cancel()
	}
	return <-subDone
}

type lineMsg struct {
	line []byte
	eof  bool
	err  error
}

// loop reads the inputs and closes periods; it alone touches the
// aggregator and the tailer.
func (ag *agent) loop(ctx context.Context, inputsDone chan struct{}) error {
	o := ag.o
	var stdin chan lineMsg
	if o.Stdin != nil {
		stdin = make(chan lineMsg, 1024)
		go readLines(ctx, o.Stdin, stdin)
	}
	scraped := make(chan []Sample, 16)
	for _, u := range o.Scrape {
		go ag.scrapeLoop(ctx, u, scraped)
	}
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	lastSave := o.Now()
	stdinDone := o.Stdin == nil
	onLine := func(name string, l []byte) { ag.line(name, l) }
	for {
		more, err := ag.tail.poll(onLine)
		if err != nil {
			return fmt.Errorf("agent: %v", err)
		}
		// drain what the other inputs have
	drain:
		for {
			select {
			case m, ok := <-stdin:
				if !ok || m.eof {
					stdinDone = true
					stdin = nil
					if m.err != nil {
						ag.logf("stdin: %v", m.err)
					}
					continue
				}
				ag.line("stdin", m.line)
			case ss := <-scraped:
				for _, s := range ss {
					ag.add(s)
				}
			default:
				break drain
			}
		}
		now := o.Now()
		if to := ag.agg.Closable(now.UnixMilli()); to > ag.agg.ClosedTo {
			if err := ag.close(to); err != nil {
				return err
			}
			lastSave = now
		} else if (ag.dirty || ag.tail.changed) && now.Sub(lastSave) >= o.CheckpointEvery {
			if err := ag.save(); err != nil {
				return err
			}
			lastSave = now
		}
		if w := ag.agg.Watermark(now.UnixMilli()); w != math.MinInt64 {
			ag.m.Watermark.Store(w)
		}
		if o.Once && !more && stdinDone {
			if err := ag.close(ag.agg.OpenEnd()); err != nil {
				return err
			}
			close(inputsDone)
			return nil
		}
		if more {
			if ctx.Err() != nil {
				return ag.save()
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ag.save()
		case <-tick.C:
		case m, ok := <-stdin:
			if !ok || m.eof {
				stdinDone, stdin = true, nil
			} else {
				ag.line("stdin", m.line)
			}
		case ss := <-scraped:
			for _, s := range ss {
				ag.add(s)
			}
		}
	}
}

func readLines(ctx context.Context, r io.Reader, out chan<- lineMsg) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		l, err := br.ReadBytes('\n')
		if len(l) > 0 {
			select {
			case out <- lineMsg{line: l}:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			m := lineMsg{eof: true}
			if !errors.Is(err, io.EOF) {
				m.err = err
			}
			select {
			case out <- m:
			case <-ctx.Done():
			}
			return
		}
	}
}

func (ag *agent) line(name string, l []byte) {
	ag.dirty = true
	s, err := ag.parse.Parse(l)
	if errors.Is(err, ErrIgnored) {
		if len(bytesTrim(l)) > 0 {
			ag.m.SamplesIgnored.Add(1)
		}
		return
	}
	if err != nil {
		ag.m.SamplesInvalid.Add(1)
		ag.lineErrs++
		if ag.lineErrs <= 10 || ag.lineErrs%1000 == 0 {
			ag.logf("%s: skipped a line (%d so far): %v", name, ag.lineErrs, err)
		}
		return
	}
	ag.add(s)
}

func bytesTrim(b []byte) string { return strings.TrimSpace(string(b)) }

func (ag *agent) add(s Sample) {
	ag.dirty = true
	ag.m.SamplesRead.Add(1)
	late := ag.agg.Stats.Late
	ag.agg.Add(s)
	if ag.agg.Stats.Late > late {
		ag.m.SamplesLate.Add(1)
	}
}

// close closes the periods up to `to`: their records go to the spool
// first, then the checkpoint records them closed; only then may they be
// submitted.
func (ag *agent) close(to int64) error {
	if to <= ag.agg.ClosedTo {
		return ag.save()
	}
	recs, probs := ag.agg.Close(to)
	for _, p := range probs {
		ag.logf("period %s to %s of %s %s yields no record: %s", ts(p.Start), ts(p.End), p.Resource, p.Metric, p.Reason)
	}
	if len(recs) > 0 {
		data, err := json.Marshal(spoolBatch{ClosedTo: to, Records: recs})
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(ag.o.StateDir, spoolDir, spoolName(to)), data); err != nil {
			return fmt.Errorf("agent: spool: %v", err)
		}
		ag.m.RecordsSpooled.Add(int64(len(recs)))
	}
	ag.m.PeriodsClosed.Add(1)
	if err := ag.save(); err != nil {
		return err
	}
	select {
	case ag.kick <- struct{}{}:
	default:
	}
	return nil
}

func ts(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }

func (ag *agent) save() error {
	if err := writeCheckpoint(ag.o.StateDir, ag.agg.checkpoint(ag.tail.offsets())); err != nil {
		return fmt.Errorf("agent: checkpoint: %v", err)
	}
	ag.dirty, ag.tail.changed = false, false
	ag.committed.Store(ag.agg.ClosedTo)
	ag.m.ClosedTo.Store(ag.agg.ClosedTo)
	return nil
}

// submitLoop submits spool files, oldest first, retrying with backoff.
// With Once it returns when the inputs are done and the spool is empty.
func (ag *agent) submitLoop(ctx context.Context, inputsDone chan struct{}) error {
	backoff := ag.o.RetryMin
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		names, tos, err := spoolFiles(ag.o.StateDir)
		if err != nil {
			return fmt.Errorf("agent: spool: %v", err)
		}
		ag.updateSpoolGauges(names, tos)
		failed := false
		pending := 0
		for i, name := range names {
			if tos[i] > ag.committed.Load() {
				pending++
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			if err := ag.submitFile(ctx, name); err != nil {
				ag.m.SubmitErrors.Add(1)
				ag.logf("submitting %s failed (retrying in %s): %v", filepath.Base(name), backoff, err)
				failed = true
				break
			}
			backoff = ag.o.RetryMin
		}
		if failed {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, ag.o.RetryMax)
			continue
		}
		if len(names) > 0 && pending < len(names) {
			continue // submitted some: look again
		}
		if ag.o.Once {
			select {
			case <-inputsDone:
				if n, _, _ := spoolFiles(ag.o.StateDir); len(n) == 0 {
					ag.updateSpoolGauges(nil, nil)
					return nil
				}
				continue
			default:
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ag.kick:
		case <-tick.C:
		case <-inputsDone:
		}
	}
}

func (ag *agent) updateSpoolGauges(names []string, tos []int64) {
	ag.m.SpoolFiles.Store(int64(len(names)))
	// Each file is read once (spool files never change), so a spool that
	// grows through a long outage costs one read per new file.
	if ag.spoolInfo == nil {
		ag.spoolInfo = map[string][2]int64{}
	}
	keep := make(map[string][2]int64, len(names))
	n, oldest := int64(0), int64(0)
	for i, name := range names {
		info, ok := ag.spoolInfo[name]
		if !ok {
			b, err := readSpool(name)
			if err != nil {
				continue
			}
			info[0] = int64(len(b.Records))
			if len(b.Records) > 0 {
				info[1] = b.Records[0].End * 1000 // sorted by start: the oldest
			}
		}
		keep[name] = info
		n += info[0]
		if i == 0 {
			oldest = info[1]
		}
	}
	ag.spoolInfo = keep
	ag.m.SpoolRecords.Store(n)
	ag.m.OldestUnsubmitted.Store(oldest)
}

// permanent reports whether a refusal will not change by retrying: the
// records themselves are at fault (an unknown resource, a metric its type
// lacks, a period outside its allocation), not the ledger's availability.
// "In the future" is not permanent: the ledger's clock may lag the agent's.
func permanent(err error) bool {
	switch client.KindOf(err) {
	case client.KindInvalid, client.KindNotFound, client.KindDenied:
		return !strings.Contains(err.Error(), "in the future")
	}
	return false
}

func (ag *agent) submitFile(ctx context.Context, name string) error {
	b, err := readSpool(name)
	if err != nil {
		return err
	}
	be, err := ag.o.Open(ctx)
	if err != nil {
		return err
	}
	defer be.Close()
	cl := client.New(be)
	rep, err := cl.SubmitUsage(ctx, b.Records, client.UsageOptions{BatchSize: ag.o.BatchSize})
	if rep != nil {
		ag.m.RecordsAccepted.Add(int64(rep.Accepted))
		ag.m.RecordsDuplicate.Add(int64(rep.Duplicates))
	}
	if err != nil && permanent(err) {
		// One by one: keep every record the ledger takes, set aside the
		// ones it refuses, with the reason.
		err = ag.oneByOne(ctx, cl, name, b)
	}
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

func (ag *agent) oneByOne(ctx context.Context, cl *client.Client, name string, b *spoolBatch) error {
	var rejected []byte
	for _, r := range b.Records {
		rep, err := cl.SubmitUsage(ctx, []model.UsageRecord{r}, client.UsageOptions{BatchSize: 1})
		if err != nil {
			if !permanent(err) {
				return err
			}
			line, _ := json.Marshal(struct {
				model.UsageRecord
				Error string `json:"error"`
			}{r, err.Error()})
			rejected = append(append(rejected, line...), '\n')
			ag.m.RecordsRejected.Add(1)
			ag.logf("the ledger refused %s %s %s to %s: %v", r.Resource, r.Metric, ts(r.Start), ts(r.End), err)
			continue
		}
		ag.m.RecordsAccepted.Add(int64(rep.Accepted))
		ag.m.RecordsDuplicate.Add(int64(rep.Duplicates))
	}
	if len(rejected) > 0 {
		rf := filepath.Join(ag.o.StateDir, rejectedDir, strings.TrimSuffix(filepath.Base(name), ".json")+".jsonl")
		if err := writeAtomic(rf, rejected); err != nil {
			return err
		}
	}
	return nil
}
