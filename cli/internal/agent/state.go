package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// The state directory:
//
//	checkpoint.json        input offsets + open periods + watermark (one atomic file)
//	spool/<closed_to>.json the records of periods closed up to closed_to, not yet submitted
//	rejected/<...>.jsonl   records the ledger refused for good, with the reason
const (
	checkpointFile = "checkpoint.json"
	spoolDir       = "spool"
	rejectedDir    = "rejected"
	stateVersion   = 1
)

// fileOffset is how far a tailed file has been read: the file is known by
// device and inode, so a renamed (rotated) file keeps its offset.
type fileOffset struct {
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	Offset int64  `json:"offset"`
}

type checkpoint struct {
	Version  int          `json:"version"`
	PeriodMS int64        `json:"period_ms"`
	Rules    []string     `json:"rules"` // the ledger metric of each rule, in order
	ClosedTo int64        `json:"closed_to"`
	MaxEvent int64        `json:"max_event"`
	Files    []fileOffset `json:"files"`
	Series   []*series    `json:"series"`
}

// spoolBatch is one spool file: the records of every period closed by one
// close, up to ClosedTo.
type spoolBatch struct {
	ClosedTo int64               `json:"closed_to"`
	Records  []model.UsageRecord `json:"records"`
}

// writeAtomic writes data to file so that a crash leaves either the old
// content or the new, never a mix: a temporary file in the same
// directory, fsynced, renamed over file, and the directory fsynced.
func writeAtomic(file string, data []byte) error {
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, file)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (a *Aggregator) checkpoint(files []fileOffset) *checkpoint {
	cp := &checkpoint{Version: stateVersion, PeriodMS: a.period, ClosedTo: a.ClosedTo, MaxEvent: a.MaxEvent, Files: files}
	for _, r := range a.cfg.Metrics {
		cp.Rules = append(cp.Rules, r.Metric)
	}
	for _, sr := range a.series {
		cp.Series = append(cp.Series, sr)
	}
	sort.Slice(cp.Series, func(i, j int) bool {
		x, y := cp.Series[i], cp.Series[j]
		if x.Resource != y.Resource {
			return x.Resource < y.Resource
		}
		return x.Rule < y.Rule
	})
	return cp
}

// ErrState marks a state directory the agent cannot resume from.
var ErrState = errors.New("agent state cannot be resumed")

// restore loads cp into a (a fresh aggregator of the same configuration).
func (a *Aggregator) restore(cp *checkpoint) error {
	if cp.Version != stateVersion {
		return fmt.Errorf("%w: checkpoint version %d, this agent writes %d", ErrState, cp.Version, stateVersion)
	}
	if cp.PeriodMS != a.period {
		return fmt.Errorf("%w: the checkpoint's periods are %d ms long, the configuration's %d ms; submit what is spooled and start with a new state directory to change the period", ErrState, cp.PeriodMS, a.period)
	}
	if len(cp.Rules) != len(a.cfg.Metrics) {
		return fmt.Errorf("%w: the checkpoint has %d metric rules, the configuration %d; rules may be changed only with a new state directory", ErrState, len(cp.Rules), len(a.cfg.Metrics))
	}
	for i, m := range cp.Rules {
		if a.cfg.Metrics[i].Metric != m {
			return fmt.Errorf("%w: rule %d was metric %s, the configuration says %s", ErrState, i, m, a.cfg.Metrics[i].Metric)
		}
	}
	a.ClosedTo, a.MaxEvent = cp.ClosedTo, cp.MaxEvent
	for _, sr := range cp.Series {
		if sr == nil || sr.Rule < 0 || sr.Rule >= len(a.cfg.Metrics) {
			return fmt.Errorf("%w: the checkpoint names an unknown rule", ErrState)
		}
		a.series[seriesKey{sr.Resource, sr.Rule}] = sr
	}
	return nil
}

func readCheckpoint(dir string) (*checkpoint, error) {
	data, err := os.ReadFile(filepath.Join(dir, checkpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cp checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return nil, fmt.Errorf("%w: %s is not a checkpoint: %v", ErrState, filepath.Join(dir, checkpointFile), err)
	}
	return &cp, nil
}

func writeCheckpoint(dir string, cp *checkpoint) error {
	data, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, checkpointFile), data)
}

func spoolName(closedTo int64) string {
	return fmt.Sprintf("%020d.json", closedTo)
}

// spoolFiles lists the spool's files, oldest first, with their closed_to.
func spoolFiles(dir string) ([]string, []int64, error) {
	ents, err := os.ReadDir(filepath.Join(dir, spoolDir))
	if err != nil {
		return nil, nil, err
	}
	var names []string
	var tos []int64
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".json") {
			continue
		}
		to, err := strconv.ParseInt(strings.TrimSuffix(n, ".json"), 10, 64)
		if err != nil {
			continue
		}
		names = append(names, filepath.Join(dir, spoolDir, n))
		tos = append(tos, to)
	}
	return names, tos, nil // ReadDir sorts by name: zero-padded, so by time
}

func readSpool(file string) (*spoolBatch, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var b spoolBatch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: spool file %s is damaged: %v", ErrState, file, err)
	}
	return &b, nil
}
