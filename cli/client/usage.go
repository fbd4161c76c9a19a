package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// UsageFile is a batch of usage records read from a file, with the line
// each came from (for error messages).
type UsageFile struct {
	Name    string
	Records []model.UsageRecord
	Lines   []int
	// Derived counts records whose ID was derived from their content.
	Derived int
	// Repeated counts records dropped because an earlier line of the file
	// had the same ID and content.
	Repeated int
	// unit is what Lines count: "line", or "record" in a JSON array.
	unit string
	byID map[string]int
}

func (f *UsageFile) where(n int) string {
	if f.unit == "" {
		return fmt.Sprintf("%s line %d", f.Name, n)
	}
	return fmt.Sprintf("%s %s %d", f.Name, f.unit, n)
}

// MaxUsageBatch is the most records the contract takes in one UsageSubmit.
const MaxUsageBatch = model.MaxUsageBatch

// ReadUsage reads usage records from r. format is "jsonl" (one JSON object
// per line, or one JSON array), "csv" (a header line naming the columns id,
// resource, metric, quantity, start, end; id optional), or "" to decide by
// name's extension (.csv; .json, .jsonl, .ndjson) or, failing that, by the
// first character. Times are Unix seconds or RFC 3339. A record without an
// id gets one derived from its resource, metric, start and end, so that
// reading the same file again yields the same IDs (the contract ignores an
// ID it already has: rerunning is safe). Every record is checked; the first
// fault is returned, naming the line and field.
func ReadUsage(r io.Reader, name, format string) (*UsageFile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, Errorf(KindInvalid, "%s cannot be read: %v", name, errText(err))
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
			format = "csv"
		case ".json", ".jsonl", ".ndjson":
			format = "jsonl"
		default:
			t := bytes.TrimSpace(data)
			if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
				format = "jsonl"
			} else {
				format = "csv"
			}
		}
	}
	f := &UsageFile{Name: name}
	switch format {
	case "jsonl", "json":
		err = f.readJSON(data)
	case "csv":
		err = f.readCSV(data)
	default:
		return nil, Errorf(KindInvalid, "format %q is not valid: it must be jsonl or csv", format)
	}
	if err != nil {
		return nil, err
	}
	if len(f.Records) == 0 && f.Repeated == 0 {
		return nil, Errorf(KindInvalid, "%s holds no usage records", name).
			WithHint("each record has resource, metric, quantity, start and end (and optionally id)")
	}
	return f, nil
}

func (f *UsageFile) lineErr(line int, format string, args ...any) *Error {
	return Errorf(KindInvalid, "%s: %s", f.where(line), fmt.Sprintf(format, args...)).
		WithHint("fix the line and read the file again; nothing was submitted")
}

type usageJSON struct {
	ID       string          `json:"id"`
	Resource string          `json:"resource"`
	Metric   string          `json:"metric"`
	Quantity json.RawMessage `json:"quantity"`
	Start    json.RawMessage `json:"start"`
	End      json.RawMessage `json:"end"`
}

func (f *UsageFile) readJSON(data []byte) error {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		f.unit = "record"
		var list []usageJSON
		if err := dec.Decode(&list); err != nil {
			return Errorf(KindInvalid, "%s is not a valid JSON array of usage records: %s", f.Name, jsonErr(err)).
				WithHint("each record is {\"id\",\"resource\",\"metric\",\"quantity\",\"start\",\"end\"}")
		}
		for i, u := range list {
			if err := f.addJSON(i+1, u); err != nil {
				return err
			}
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		s := bytes.TrimSpace(sc.Bytes())
		if len(s) == 0 || s[0] == '#' {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(s))
		dec.DisallowUnknownFields()
		var u usageJSON
		if err := dec.Decode(&u); err != nil {
			return f.lineErr(line, "not a JSON usage record: %s", jsonErr(err))
		}
		if dec.More() {
			return f.lineErr(line, "more than one JSON value; put one record per line")
		}
		if err := f.addJSON(line, u); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return Errorf(KindInvalid, "%s line %d: %v", f.Name, line+1, errText(err))
	}
	return nil
}

func jsonErr(err error) string {
	return strings.TrimPrefix(errText(err), "json: ")
}

func (f *UsageFile) addJSON(line int, u usageJSON) error {
	var rec model.UsageRecord
	rec.ID, rec.Resource, rec.Metric = u.ID, u.Resource, u.Metric
	for _, p := range []struct {
		name string
		raw  json.RawMessage
		dst  *int64
		time bool
	}{{"quantity", u.Quantity, &rec.Quantity, false}, {"start", u.Start, &rec.Start, true}, {"end", u.End, &rec.End, true}} {
		if len(p.raw) == 0 || string(p.raw) == "null" {
			return f.lineErr(line, "%s is required", p.name)
		}
		s := string(p.raw)
		if p.time && strings.HasPrefix(s, `"`) {
			var str string
			if err := json.Unmarshal(p.raw, &str); err != nil {
				return f.lineErr(line, "%s is not valid: %s", p.name, jsonErr(err))
			}
			s = str
		}
		v, err := parseUsageInt(p.name, s, p.time)
		if err != nil {
			return f.lineErr(line, "%s", err)
		}
		*p.dst = v
	}
	return f.add(line, rec)
}

func parseUsageInt(field, s string, isTime bool) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%s is required", field)
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		if v < 0 {
			return 0, fmt.Errorf("%s must not be negative, got %d", field, v)
		}
		return v, nil
	}
	if isTime {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.Unix(), nil
		}
		return 0, fmt.Errorf("%s must be Unix seconds or an RFC 3339 time, got %q", field, s)
	}
	return 0, fmt.Errorf("%s must be a non-negative integer, got %s", field, s)
}

var usageColumns = []string{"id", "resource", "metric", "quantity", "start", "end"}

func (f *UsageFile) readCSV(data []byte) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return Errorf(KindInvalid, "%s is not valid CSV: %v", f.Name, errText(err))
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range usageColumns {
			known = known || c == h
		}
		if !known {
			line, _ := r.FieldPos(i)
			return Errorf(KindInvalid, "%s line %d: column %q is not a usage field (columns: %s)", f.Name, line, h, strings.Join(usageColumns, ", ")).
				WithHint("the first line names the columns, e.g. id,resource,metric,quantity,start,end")
		}
		if _, dup := col[h]; dup {
			return Errorf(KindInvalid, "%s line 1: column %q appears twice", f.Name, h)
		}
		col[h] = i
	}
	for _, c := range usageColumns[1:] {
		if _, ok := col[c]; !ok {
			return Errorf(KindInvalid, "%s line 1: the header has no %s column", f.Name, c).
				WithHint("the first line names the columns, e.g. id,resource,metric,quantity,start,end")
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return f.lineErr(pe.Line, "not valid CSV: %v", pe.Err)
			}
			return Errorf(KindInvalid, "%s is not valid CSV: %v", f.Name, errText(err))
		}
		if len(rec) != len(head) {
			return f.lineErr(line, "%d fields, but the header names %d", len(rec), len(head))
		}
		get := func(c string) string {
			if i, ok := col[c]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		u := model.UsageRecord{ID: get("id"), Resource: get("resource"), Metric: get("metric")}
		for _, p := range []struct {
			name string
			dst  *int64
			time bool
		}{{"quantity", &u.Quantity, false}, {"start", &u.Start, true}, {"end", &u.End, true}} {
			v, err := parseUsageInt(p.name, get(p.name), p.time)
			if err != nil {
				return f.lineErr(line, "%s", err)
			}
			*p.dst = v
		}
		if err := f.add(line, u); err != nil {
			return err
		}
	}
}

// add checks a record, derives its ID if needed, and appends it.
func (f *UsageFile) add(line int, u model.UsageRecord) error {
	if u.Resource == "" {
		return f.lineErr(line, "resource is required")
	}
	if !model.ValidID(u.Resource) {
		return f.lineErr(line, "resource %q is not a resource ID (1 to 64 letters, digits, '.', '_' or '-')", u.Resource)
	}
	if u.Metric == "" {
		return f.lineErr(line, "metric is required")
	}
	if !model.ValidField(u.Metric) {
		return f.lineErr(line, "metric %q is not valid: it must be lower-case letters, digits or '_', starting with a letter", u.Metric)
	}
	if u.End <= u.Start {
		return f.lineErr(line, "end %d must be after start %d", u.End, u.Start)
	}
	if u.ID == "" {
		u.ID = DeriveUsageID(u)
		f.Derived++
	} else if !model.ValidID(u.ID) {
		return f.lineErr(line, "id %q is not valid: it must be 1 to 64 letters, digits, '.', '_' or '-'", u.ID)
	} else if model.IsDerivedForm(u.ID) && u.ID != DeriveUsageID(u) {
		return f.lineErr(line, "id %s has the form of a derived ID (u- and 40 hex digits) but this record derives %s; leave id empty to have it derived, or choose an ID of another form", u.ID, DeriveUsageID(u))
	}
	if f.byID == nil {
		f.byID = map[string]int{}
	}
	if i, ok := f.byID[u.ID]; ok {
		if f.Records[i] == u {
			f.Repeated++
			return nil
		}
		return f.lineErr(line, "id %s was already used at %s for a different record", u.ID, f.where(f.Lines[i]))
	}
	f.byID[u.ID] = len(f.Records)
	f.Records = append(f.Records, u)
	f.Lines = append(f.Lines, line)
	return nil
}

// DeriveUsageID is the ID of a record that has none: "u-" and 40 hex digits
// of the SHA-256 of its resource, metric, start and end
// (model.DeriveUsageID: the contract derives the same). The quantity is
// left out on purpose: a corrected quantity for the same period keeps the
// ID, and the contract refuses it instead of counting it twice.
func DeriveUsageID(u model.UsageRecord) string { return model.DeriveUsageID(u) }

// EncodeUsageBatch is the UsageSubmit argument for records, in the
// contract's compact forms (model.EncodeUsageBatch: period tables, period
// rows, rows; the contract's decoder is in the same package).
func EncodeUsageBatch(records []model.UsageRecord) string {
	return model.EncodeUsageBatch(records).Arg
}

// UsageOptions configures SubmitUsage.
type UsageOptions struct {
	// BatchSize is the records per transaction (default 500, at most
	// MaxUsageBatch). Each batch is all or nothing.
	BatchSize int
	// Progress, if set, is called after each committed batch.
	Progress func(done, total int)
}

// UsageReport is what SubmitUsage did.
type UsageReport struct {
	Records    int `json:"records"`
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Batches    int `json:"batches"`
	// Unchanged counts the batches that changed nothing (every record a
	// duplicate): the embedded ledger appends no block for them.
	Unchanged int `json:"unchanged_batches"`
}

// SubmitUsage submits records in batches. Records the ledger already holds
// (same ID, same content) are counted as duplicates and change nothing, so
// after a failure the same call can simply be made again. A record without
// an ID gets DeriveUsageID.
func (c *Client) SubmitUsage(ctx context.Context, records []model.UsageRecord, o UsageOptions) (*UsageReport, error) {
	f := &UsageFile{Name: "records", unit: "record"}
	for i, u := range records {
		if u.ID == "" {
			u.ID = DeriveUsageID(u)
		}
		f.Records = append(f.Records, u)
		f.Lines = append(f.Lines, i+1)
	}
	return c.SubmitUsageFile(ctx, f, o)
}

// SubmitUsageFile submits a file read by ReadUsage; errors name its lines.
func (c *Client) SubmitUsageFile(ctx context.Context, f *UsageFile, o UsageOptions) (*UsageReport, error) {
	n := o.BatchSize
	if n <= 0 {
		n = 500
	}
	if n > MaxUsageBatch {
		return nil, Errorf(KindInvalid, "batch size %d is too large: the contract takes at most %d records per batch", n, MaxUsageBatch)
	}
	total := len(f.Records)
	rep := &UsageReport{Records: total + f.Repeated, Duplicates: f.Repeated}
	batches := (total + n - 1) / n
	for b := 0; b < batches; b++ {
		lo, hi := b*n, min((b+1)*n, total)
		ub := model.EncodeUsageBatch(f.Records[lo:hi])
		res, err := call[model.UsageResult](ctx, c, true, "UsageSubmit", ub.Arg)
		if err != nil {
			return rep, c.batchErr(err, f, b, batches, lo, ub)
		}
		rep.Batches++
		rep.Accepted += res.Accepted
		rep.Duplicates += len(res.Duplicates)
		if res.Accepted == 0 {
			rep.Unchanged++
		}
		if o.Progress != nil {
			o.Progress(hi, total)
		}
	}
	return rep, nil
}

// batchErr names the file line of the record a refused batch's error is
// about. The batch is the records from lo, encoded as ub; the refusal
// locates the record as an element of the argument (model.Element: the
// element, the row of a table, the metric of a period row), which ub maps
// back to a record.
func (c *Client) batchErr(err error, f *UsageFile, b, batches, lo int, ub *model.UsageBatch) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	if e.Kind == KindBusy || e.Kind == KindMismatch {
		// Not the records' fault: say how far it got, keep the hint.
		return &Error{Kind: e.Kind, Op: e.Op, Msg: fmt.Sprintf("batch %d of %d was not submitted (the %d before it are on the ledger): %s",
			b+1, batches, b, e.Msg), Hint: e.Hint, Err: e}
	}
	msg := e.Msg
	where := ""
	if e.at != nil {
		if i := ub.Index(*e.at); i >= 0 && lo+i < len(f.Lines) {
			where = f.where(f.Lines[lo+i]) + ": "
			// The message names the element as the contract sees it
			// (model.Element.Label); the line replaces it.
			label := e.at.Label()
			if strings.Contains(msg, label+".") {
				msg = strings.Replace(msg, label+".", "", 1)
			} else {
				msg = strings.Replace(msg, label, "", 1)
			}
		}
	}
	done := ""
	if b > 0 {
		done = fmt.Sprintf(" (batches 1 to %d, %d records, are on the ledger)", b, lo)
	}
	out := &Error{Kind: e.Kind, Code: e.Code, Op: e.Op, TxID: e.TxID, Err: e, at: e.at,
		Msg: fmt.Sprintf("%sbatch %d of %d was refused%s: %s", where, b+1, batches, done, msg)}
	out.Hint = "fix the record and submit the same records again: those already on the ledger are skipped as duplicates, nothing is counted twice"
	if e.Kind == KindDenied {
		out.Hint = "usage is submitted by an identity of the resource's provider, such as its metering agent"
	}
	return out
}

// UsageCorrection corrects one usage record (UsageAdjust): the record of
// Resource for Metric over (Start, End] with ID (empty: its derived ID) is
// to count Quantity (0 voids it), for Reason.
type UsageCorrection struct {
	Resource, Metric string
	Start, End       time.Time
	ID               string
	Quantity         int64
	Reason           string
}

// UsageAdjustment is what a correction did (model.UsageAdjustment).
type UsageAdjustment = model.UsageAdjustment

// AdjustUsage corrects a usage record with a compensating record (an
// identity of the resource's provider). Correcting to the quantity the
// record already has writes nothing, so it is safe to retry. A correction
// to a billed period is billed by re-rating it (RerateBills).
func (c *Client) AdjustUsage(ctx context.Context, u UsageCorrection) (*model.UsageAdjustment, error) {
	if u.Start.IsZero() || u.End.IsZero() {
		return nil, Errorf(KindInvalid, "a correction names the record's period: both Start and End")
	}
	return call[model.UsageAdjustment](ctx, c, true, "UsageAdjust", u.Resource, u.Metric, unixArg(u.Start), unixArg(u.End),
		u.ID, strconv.FormatInt(u.Quantity, 10), u.Reason)
}
