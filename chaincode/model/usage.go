package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The usage wire codec: UsageSubmit's argument, a JSON array whose elements
// are records {"id","resource","metric","quantity","start","end"}, rows
// [resource, metric, quantity, start, end(, id)], period rows [resource,
// start, end, {"<metric>": quantity, ...}] (every metric of a resource over
// one period, IDs derived) or period tables {"start", "end", "metrics":
// [<metric>, ...], "rows": [[resource, quantity, ...], ...]} (the same
// metrics of many resources over one period, IDs derived). Encoder
// (EncodeUsageBatch, what clients send) and decoder (DecodeUsageBatch, what
// the contract reads) live together so that they cannot drift apart.

// ---- encoder ----

// UsageBatch is an encoded UsageSubmit argument and where each of its
// elements starts in the records it encodes, so that a refusal's Element
// can be traced back to a record (Index).
type UsageBatch struct {
	// Arg is the UsageSubmit argument.
	Arg   string
	recs  []UsageRecord
	elems []usageElem
}

// usageElem is where an element starts in the records (first), and for a
// table the width of its rows (records per row; 0 otherwise).
type usageElem struct{ first, width int }

// EncodeUsageBatch encodes records in the compact forms. Consecutive
// records of one resource and period with derived IDs and distinct metrics
// are a period run; consecutive period runs over the same period with the
// same metrics in the same order (what a metering agent sends: every
// resource it watches, one period) become one period table, about a sixth
// of the bytes of JSON objects; a period run alone becomes a period row;
// any other record a row, a derived ID left out (the contract derives it
// again). The records and their order are unchanged: DecodeUsageBatch
// expands a table row by row in the table's metric order, and a period row
// in metric order, which may differ from the order here only inside one
// period of one resource.
func EncodeUsageBatch(records []UsageRecord) *UsageBatch {
	ub := &UsageBatch{recs: records}
	b := make([]byte, 0, 40*len(records))
	b = append(b, '[')
	for i := 0; i < len(records); {
		if i > 0 {
			b = append(b, ',')
		}
		n := periodRun(records[i:])
		if n >= 1 {
			if rows := tableRows(records[i:], n); rows >= 2 {
				ub.elems = append(ub.elems, usageElem{i, n})
				b = appendTable(b, records[i:i+rows*n], n)
				i += rows * n
				continue
			}
		}
		ub.elems = append(ub.elems, usageElem{i, 0})
		if n >= 2 {
			u := records[i]
			b = append(b, '[')
			b = appendJSONString(b, u.Resource)
			b = append(b, ',')
			b = strconv.AppendInt(b, u.Start, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, u.End, 10)
			b = append(b, ",{"...)
			for j, r := range records[i : i+n] {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, r.Metric)
				b = append(b, ':')
				b = strconv.AppendInt(b, r.Quantity, 10)
			}
			b = append(b, "}]"...)
			i += n
			continue
		}
		u := records[i]
		b = append(b, '[')
		b = appendJSONString(b, u.Resource)
		b = append(b, ',')
		b = appendJSONString(b, u.Metric)
		for _, v := range []int64{u.Quantity, u.Start, u.End} {
			b = append(b, ',')
			b = strconv.AppendInt(b, v, 10)
		}
		if u.ID != "" && u.ID != DeriveUsageID(u) {
			b = append(b, ',')
			b = appendJSONString(b, u.ID)
		}
		b = append(b, ']')
		i++
	}
	ub.Arg = string(append(b, ']'))
	return ub
}

// Index is the index in the encoded records of the record at, or -1 if at
// names no record of this batch. Inside a period row or table row the
// record is the one of at's metric (the first of the element when the
// metric is not set).
func (ub *UsageBatch) Index(at Element) int {
	if at.Record < 0 || at.Record >= len(ub.elems) {
		return -1
	}
	el := ub.elems[at.Record]
	r, end := el.first, len(ub.recs)
	if at.Record+1 < len(ub.elems) {
		end = ub.elems[at.Record+1].first
	}
	if at.Row >= 0 && el.width > 0 { // row j of a table
		r += at.Row * el.width
		end = min(end, r+el.width)
	}
	if r >= end {
		return -1
	}
	if at.Metric != "" {
		for j := r; j < end; j++ {
			if ub.recs[j].Metric == at.Metric {
				return j
			}
		}
	}
	return r
}

// tableRows is how many period runs of width n at the start of rs can be
// rows of one table: runs of exactly n records over the first run's period
// with its metrics in its order.
func tableRows(rs []UsageRecord, n int) int {
	rows := 1
	for at := n; at+n <= len(rs); at += n {
		if periodRun(rs[at:]) != n {
			break
		}
		for k := 0; k < n; k++ {
			if u, h := rs[at+k], rs[k]; u.Start != h.Start || u.End != h.End || u.Metric != h.Metric {
				return rows
			}
		}
		rows++
	}
	return rows
}

// appendTable appends rs, rows of n records, as a period table.
func appendTable(b []byte, rs []UsageRecord, n int) []byte {
	b = append(b, `{"start":`...)
	b = strconv.AppendInt(b, rs[0].Start, 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendInt(b, rs[0].End, 10)
	b = append(b, `,"metrics":[`...)
	for k := 0; k < n; k++ {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, rs[k].Metric)
	}
	b = append(b, `],"rows":[`...)
	for at := 0; at < len(rs); at += n {
		if at > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendJSONString(b, rs[at].Resource)
		for _, u := range rs[at : at+n] {
			b = append(b, ',')
			b = strconv.AppendInt(b, u.Quantity, 10)
		}
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

// periodRun is how many records at the start of rs can share a period row:
// same resource and period, IDs derived (or absent), metrics distinct.
func periodRun(rs []UsageRecord) int {
	derived := func(u UsageRecord) bool { return u.ID == "" || u.ID == DeriveUsageID(u) }
	if len(rs) == 0 || !derived(rs[0]) {
		return 0
	}
	seen := map[string]bool{rs[0].Metric: true}
	n := 1
	for ; n < len(rs); n++ {
		u := rs[n]
		if u.Resource != rs[0].Resource || u.Start != rs[0].Start || u.End != rs[0].End || seen[u.Metric] || !derived(u) {
			break
		}
		seen[u.Metric] = true
	}
	return n
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// ---- decoder ----

// UsageItem is one record of a decoded UsageSubmit argument.
type UsageItem struct {
	// Record is the record, its ID derived if it had none.
	Record UsageRecord
	// Derived reports whether its ID is the derived one.
	Derived bool
	// At is where the argument holds it.
	At Element
	// Err is the first check needing no ledger state that the record
	// failed (a *Refusal located at At); Record is unset then. The
	// contract reports it in batch order, after the faults of the records
	// before it.
	Err error
}

// usageArg is one element of the argument: a record, or a period row
// (metrics set) or period table (table set) that expands to records.
type usageArg struct {
	ID       string          `json:"id"`
	Resource string          `json:"resource"`
	Metric   string          `json:"metric"`
	Quantity json.RawMessage `json:"quantity"`
	Start    json.RawMessage `json:"start"`
	End      json.RawMessage `json:"end"`

	// A period table's columns and rows.
	Metrics []string            `json:"metrics"`
	Rows    [][]json.RawMessage `json:"rows"`

	metrics map[string]json.RawMessage // a period row's {metric: quantity}
	table   bool                       // a period table: Start, End, Metrics, Rows
	at      Element
}

// DecodeUsageBatch decodes UsageSubmit's argument (named "records" in
// messages) into its records, in the contract's order: a period row becomes
// a record for each of its metrics, in metric order (never map order: every
// endorser must build the same batch), a period table a record for each
// metric of each row, row by row in the table's metric order. Structural
// faults (bad JSON, a malformed table, an empty batch, more than
// MaxUsageBatch records) are returned as the error; each record's own
// faults are in its item's Err. Every error is a *Refusal.
func DecodeUsageBatch(records string) ([]UsageItem, error) {
	var elems []usageArg
	if strings.TrimSpace(records) == "" {
		return nil, Refuse(CodeBadArgument, "records is required")
	}
	dec := json.NewDecoder(strings.NewReader(records))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&elems); err != nil {
		return nil, Refuse(CodeBadArgument, "records is not valid JSON for this argument: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return nil, Refuse(CodeBadArgument, "records has data after its JSON value")
	}
	args, err := expandUsage(elems)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, Refuse(CodeBadArgument, "records must hold at least one record")
	}
	items := make([]UsageItem, len(args))
	for i, a := range args {
		items[i] = parseUsageArg(a)
	}
	return items, nil
}

func refuseAt(at Element, format string, args ...any) *Refusal {
	return &Refusal{Code: CodeBadArgument, Msg: fmt.Sprintf(format, args...), At: &at}
}

// expandUsage turns the argument's elements into one usageArg per record.
func expandUsage(args []usageArg) ([]usageArg, error) {
	n := 0
	for _, a := range args {
		switch {
		case a.table:
			n += len(a.Rows) * len(a.Metrics)
		case a.metrics != nil:
			n += len(a.metrics)
		default:
			n++
		}
	}
	if n > MaxUsageBatch { // before expanding: a table multiplies
		return nil, Refuse(CodeBadArgument, fmt.Sprintf("records holds %d records; at most %d are allowed per batch", n, MaxUsageBatch))
	}
	out := make([]usageArg, 0, n)
	for i, a := range args {
		at := Element{Record: i, Row: -1}
		if a.table {
			rows, err := expandTable(a, at)
			if err != nil {
				return nil, err
			}
			out = append(out, rows...)
			continue
		}
		if a.metrics == nil {
			a.at = at
			out = append(out, a)
			continue
		}
		if len(a.metrics) == 0 {
			return nil, refuseAt(at, "%s is a period row without metrics; its fourth element is {\"<metric>\": quantity, ...} with at least one", at.Label())
		}
		for _, m := range slices.Sorted(maps.Keys(a.metrics)) {
			out = append(out, usageArg{Resource: a.Resource, Metric: m, Quantity: a.metrics[m], Start: a.Start, End: a.End,
				at: Element{Record: i, Row: -1, Metric: m}})
		}
	}
	return out, nil
}

// expandTable turns a period table into its records: row by row, each
// row's quantities in the order of the table's metrics.
func expandTable(a usageArg, at Element) ([]usageArg, error) {
	label := at.Label()
	if len(a.Metrics) == 0 {
		return nil, refuseAt(at, "%s.metrics must name at least one metric", label)
	}
	seen := make(map[string]bool, len(a.Metrics))
	for _, m := range a.Metrics {
		if seen[m] {
			return nil, refuseAt(at, "%s.metrics names %s twice", label, m)
		}
		seen[m] = true
	}
	if len(a.Rows) == 0 {
		return nil, refuseAt(at, "%s.rows must hold at least one row [resource, quantity, ...]", label)
	}
	out := make([]usageArg, 0, len(a.Rows)*len(a.Metrics))
	for j, row := range a.Rows {
		rat := Element{Record: at.Record, Row: j}
		rl := rat.Label()
		if len(row) != 1+len(a.Metrics) {
			return nil, refuseAt(rat, "%s has %d elements; a row of this table is [resource, %s] (%d elements)", rl, len(row), strings.Join(a.Metrics, ", "), 1+len(a.Metrics))
		}
		var res string
		if err := json.Unmarshal(row[0], &res); err != nil {
			return nil, refuseAt(rat, "%s's first element, the resource, must be a string, got %s", rl, row[0])
		}
		for k, m := range a.Metrics {
			out = append(out, usageArg{Resource: res, Metric: m, Quantity: row[1+k], Start: a.Start, End: a.End,
				at: Element{Record: at.Record, Row: j, Metric: m}})
		}
	}
	return out, nil
}

// UnmarshalJSON reads an element in any of the forms: an object (a record
// or a period table; unknown fields refused), a row, or a period row.
func (a *usageArg) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		type object usageArg // without this method
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode((*object)(a)); err != nil {
			return err
		}
		if a.Metrics == nil && a.Rows == nil {
			return nil
		}
		if a.ID != "" || a.Resource != "" || a.Metric != "" || a.Quantity != nil {
			return fmt.Errorf("an object is a record {id, resource, metric, quantity, start, end} or a period table {start, end, metrics, rows}, not both")
		}
		a.table = true
		return nil
	}
	var row []json.RawMessage
	if err := json.Unmarshal(b, &row); err != nil {
		return err
	}
	if len(row) == 4 {
		if err := json.Unmarshal(row[0], &a.Resource); err != nil {
			return fmt.Errorf("a period row's resource must be a string, got %s", row[0])
		}
		if t := bytes.TrimSpace(row[3]); len(t) == 0 || t[0] != '{' {
			return fmt.Errorf("a period row's fourth element must be an object {\"<metric>\": quantity, ...}, got %s", row[3])
		}
		if err := json.Unmarshal(row[3], &a.metrics); err != nil {
			return fmt.Errorf("a period row's metrics must be an object of quantities: %v", err)
		}
		if a.metrics == nil {
			a.metrics = map[string]json.RawMessage{}
		}
		a.Start, a.End = row[1], row[2]
		return nil
	}
	if len(row) != 5 && len(row) != 6 {
		return fmt.Errorf("a record row is [resource, metric, quantity, start, end], [resource, metric, quantity, start, end, id] or [resource, start, end, {metric: quantity, ...}], not %d elements", len(row))
	}
	for _, f := range []struct {
		i    int
		name string
		dst  *string
	}{{0, "resource", &a.Resource}, {1, "metric", &a.Metric}, {5, "id", &a.ID}} {
		if f.i >= len(row) {
			break
		}
		if err := json.Unmarshal(row[f.i], f.dst); err != nil {
			return fmt.Errorf("a record row's %s must be a string, got %s", f.name, row[f.i])
		}
	}
	a.Quantity, a.Start, a.End = row[2], row[3], row[4]
	return nil
}

// parseUsageArg checks what a record's validity needs no state for.
func parseUsageArg(a usageArg) UsageItem {
	f := func(name string) string { return a.at.Label() + "." + name }
	bad := func(format string, args ...any) UsageItem {
		return UsageItem{At: a.at, Err: refuseAt(a.at, format, args...)}
	}
	rec := UsageRecord{ID: a.ID, Resource: a.Resource, Metric: a.Metric}
	if a.ID != "" {
		if msg := checkID(f("id"), a.ID); msg != "" {
			return bad("%s", msg)
		}
		if IsCorrectionForm(a.ID) {
			return bad("%s %s has the form reserved for usage corrections (c- and 40 hex digits); choose an ID of another form", f("id"), a.ID)
		}
	}
	if msg := checkID(f("resource"), a.Resource); msg != "" {
		return bad("%s", msg)
	}
	if a.Metric == "" {
		return bad("%s is required", f("metric"))
	}
	if !ValidField(a.Metric) {
		return bad("%s %q is not valid: it must be 1 to 64 lower-case letters, digits or '_', starting with a letter", f("metric"), a.Metric)
	}
	for _, p := range []struct {
		name string
		raw  json.RawMessage
		dst  *int64
	}{{"quantity", a.Quantity, &rec.Quantity}, {"start", a.Start, &rec.Start}, {"end", a.End, &rec.End}} {
		if p.raw == nil {
			return bad("%s is required", f(p.name))
		}
		lit := string(bytes.TrimSpace(p.raw))
		if !isIntLiteral(lit) {
			return bad("%s must be an integer, got %s", f(p.name), lit)
		}
		v, err := strconv.ParseInt(lit, 10, 64)
		if err != nil {
			return bad("%s %s does not fit in a 64-bit integer", f(p.name), lit)
		}
		if v < 0 {
			return bad("%s must not be negative, got %d", f(p.name), v)
		}
		*p.dst = v
	}
	if rec.End <= rec.Start {
		return bad("%s %d must be after %s %d", f("end"), rec.End, f("start"), rec.Start)
	}
	if rec.End >= MaxUsageTime {
		return bad("%s %d is not a time fedmeter stores: usage times are Unix seconds below %d (the year 5138)", f("end"), rec.End, int64(MaxUsageTime))
	}
	// Only an ID of the derived form needs the derivation (a SHA-256): a
	// chosen ID of another form can never equal it.
	derived := rec.ID == "" || IsDerivedForm(rec.ID)
	if derived {
		switch d := DeriveUsageID(rec); {
		case rec.ID == "":
			rec.ID = d
		case rec.ID != d:
			return bad("%s %s has the form of a derived ID (u- and 40 hex digits) but is not the one this record derives (%s); leave id out to have it derived, or choose an ID of another form", f("id"), rec.ID, d)
		}
	}
	return UsageItem{Record: rec, Derived: derived, At: a.at}
}

func checkID(field, v string) string {
	if v == "" {
		return field + " is required"
	}
	if !ValidID(v) {
		return fmt.Sprintf("%s %q is not valid: it must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", field, v)
	}
	return ""
}

// isIntLiteral reports whether s is an optional '-' and one or more ASCII
// digits.
func isIntLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
