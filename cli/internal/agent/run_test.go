package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/fedmeter/fedmeter/cli/client"
)

// fakeLedger keeps usage records by ID like the contract: a known ID is a
// duplicate; it refuses resource "nope" and is down for its first `down`
// submissions.
type fakeLedger struct {
	mu      sync.Mutex
	recs    map[string]model.UsageRecord
	down    int
	submits int
	// whileDown, if set, runs at each refused submission
	whileDown func()
}

func (l *fakeLedger) Submit(_ context.Context, fn string, args ...string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.submits++
	if l.down > 0 {
		l.down--
		if l.whileDown != nil {
			l.whileDown()
		}
		return nil, client.Errorf(client.KindLedger, "the ledger is down")
	}
	if fn != "UsageSubmit" {
		return nil, fmt.Errorf("unexpected %s", fn)
	}
	items, err := model.DecodeUsageBatch(args[0])
	if err != nil {
		return nil, err
	}
	var res model.UsageResult
	for _, it := range items {
		if it.Record.Resource == "nope" {
			return nil, client.Errorf(client.KindNotFound, "there is no resource nope")
		}
	}
	for _, it := range items {
		r := it.Record
		if r.ID == "" {
			r.ID = model.DeriveUsageID(r)
		}
		if old, ok := l.recs[r.ID]; ok {
			if old != r {
				return nil, client.Errorf(client.KindInvalid, "id %s was already submitted with different content", r.ID)
			}
			res.Duplicates = append(res.Duplicates, r.ID)
			continue
		}
		l.recs[r.ID] = r
		res.Accepted++
	}
	return json.Marshal(res)
}
func (l *fakeLedger) Evaluate(context.Context, string, ...string) ([]byte, error) { return nil, nil }
func (l *fakeLedger) MSPID() string                                               { return "Org1MSP" }
func (l *fakeLedger) Close() error                                                { return nil }

// TestRunOutageAndRefusal: a --once run through a ledger that is down for
// a while and refuses one resource: the good records arrive once each, the
// refused one is set aside with its reason, and a second run of the same
// state adds nothing.
func TestRunOutageAndRefusal(t *testing.T) {
	dir := t.TempDir()
	cfg := mustConfig(t, "{sample: cpu, metric: cpu_seconds, aggregate: sum}")
	var lines []string
	want := map[string]int64{}
	for i := int64(0); i < 600; i++ {
		res := []string{"ecs-1", "ecs-2", "nope"}[i%3]
		lines = append(lines, fmt.Sprintf(`{"resource":%q,"metric":"cpu","value":%d,"time":%d}`, res, i, 1000+i))
		if res != "nope" {
			want[fmt.Sprintf("%s %d", res, (1000+i)/60*60)] += i
		}
	}
	stream := filepath.Join(dir, "in.jsonl")
	os.WriteFile(stream, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	led := &fakeLedger{recs: map[string]model.UsageRecord{}, down: 3}
	m := &Metrics{}
	// During the outage the spool holds every record and the lag is how
	// long ago the oldest closed period (960 s to 1020 s) ended: the clock
	// says 2020 s, so 1000 s.
	var spooled int64
	var lag time.Duration
	led.whileDown = func() { spooled, lag = m.SpoolRecords.Load(), m.Lag() }
	o := Options{Config: cfg, StateDir: filepath.Join(dir, "state"), Files: []string{stream}, Once: true, BatchSize: 4,
		Open:     func(context.Context) (client.Backend, error) { return led, nil },
		RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond, Poll: time.Millisecond, Metrics: m,
		Now: func() time.Time { return time.Unix(2020, 0) }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // hang guard
	defer cancel()
	if err := Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	// (the last close may come after the first attempts: some, not all)
	if total := int64(len(led.recs)) + m.RecordsRejected.Load(); spooled <= 0 || spooled > total || lag != 1000*time.Second {
		t.Errorf("during the outage: %d records spooled, lag %s; want 1 to %d and 1000s", spooled, lag, total)
	}
	got := map[string]int64{}
	for _, r := range led.recs {
		got[fmt.Sprintf("%s %d", r.Resource, r.Start)] += r.Quantity
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ledger: %v\nwant: %v", got, want)
	}
	if m.SubmitErrors.Load() != 3 || m.RecordsRejected.Load() == 0 || m.SamplesRead.Load() != 600 {
		t.Fatalf("metrics: errors %d, rejected %d, read %d", m.SubmitErrors.Load(), m.RecordsRejected.Load(), m.SamplesRead.Load())
	}
	rej, _ := filepath.Glob(filepath.Join(o.StateDir, rejectedDir, "*.jsonl"))
	if len(rej) == 0 {
		t.Fatal("no rejected file")
	}
	data, _ := os.ReadFile(rej[0])
	if !strings.Contains(string(data), `"resource":"nope"`) || !strings.Contains(string(data), "there is no resource nope") {
		t.Fatalf("rejected: %s", data)
	}
	// The exposition names the counters.
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, nil)
	for _, w := range []string{"fedmeter_agent_samples_read_total 600", "fedmeter_agent_submit_errors_total 3", "fedmeter_agent_lag_seconds 0"} {
		if !strings.Contains(rec.Body.String(), w) {
			t.Errorf("metrics lack %q:\n%s", w, rec.Body.String())
		}
	}
	if _, err := ParsePromText(rec.Body.Bytes(), false); err != nil {
		t.Errorf("the agent's own exposition does not parse: %v", err)
	}
	// Again, same state: nothing new is read or sent.
	n := len(led.recs)
	before := led.submits
	m2 := &Metrics{}
	o.Metrics = m2
	if err := Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	if len(led.recs) != n || led.submits != before || m2.SamplesRead.Load() != 0 {
		t.Fatalf("rerun: %d records (was %d), %d submits (was %d), %d samples read", len(led.recs), n, led.submits, before, m2.SamplesRead.Load())
	}
}

// TestTailer: partial lines wait for their newline; a file rotated by
// rename is read to its end and the new file from its start; a file
// truncated in place is read again from 0; offsets survive a restart.
func TestTailer(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.jsonl")
	var got []string
	collect := func(tl *tailer) {
		t.Helper()
		for {
			more, err := tl.poll(func(_ string, l []byte) { got = append(got, string(l)) })
			if err != nil {
				t.Fatal(err)
			}
			if !more {
				return
			}
		}
	}
	appendTo := func(name, s string) {
		f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	tl := newTailer([]string{p}, "*.jsonl", nil)
	collect(tl) // no file yet
	appendTo(p, "a\nb\npart")
	collect(tl)
	appendTo(p, "ial\n")
	collect(tl)
	if strings.Join(got, ",") != "a,b,partial" {
		t.Fatalf("got %q", got)
	}
	// restart from the offsets
	offs := tl.offsets()
	tl.close()
	tl = newTailer([]string{p}, "*.jsonl", offs)
	appendTo(p, "c\n")
	collect(tl)
	// rotate by rename: the writer finishes the old file, a new one
	// appears at the path; the open old file is read to its end.
	os.Rename(p, p+".1")
	appendTo(p+".1", "d\n")
	appendTo(p, "e\n")
	collect(tl)
	if strings.Join(got, ",") != "a,b,partial,c,d,e" {
		t.Fatalf("single path: got %q", got)
	}
	// A directory with a pattern that matches rotated names finds every
	// file after a restart too (in name order).
	got = nil
	dirTail := newTailer([]string{dir}, "s.jsonl*", nil)
	collect(dirTail)
	if strings.Join(got, ",") != "e,a,b,partial,c,d" {
		t.Fatalf("directory: got %q", got)
	}
	// rename while open: the open file is read to its end
	got = nil
	os.Rename(p, filepath.Join(dir, "old"))
	appendTo(filepath.Join(dir, "old"), "f\n")
	appendTo(p, "g\n")
	collect(dirTail)
	if strings.Join(got, ",") != "f,g" {
		t.Fatalf("after rotation: got %q", got)
	}
	// truncate in place (copytruncate)
	got = nil
	os.Truncate(p, 0)
	collect(dirTail)
	appendTo(p, "h\n")
	collect(dirTail)
	if strings.Join(got, ",") != "h" {
		t.Fatalf("after truncation: got %q", got)
	}
}

// TestStateLock: a second agent on the same state directory is refused.
func TestStateLock(t *testing.T) {
	dir := t.TempDir()
	f, err := lockState(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := mustConfig(t, "{sample: cpu, aggregate: sum}")
	err = Run(context.Background(), Options{Config: cfg, StateDir: dir, Once: true,
		Open: func(context.Context) (client.Backend, error) { return nil, fmt.Errorf("unused") }})
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "another agent is using the state directory") {
		t.Fatalf("got %v", err)
	}
}
