// Package usageimport reads the accounting records research clouds already
// produce (APEL cloud, accelerator and public IP messages as cASO writes them, EMI StAR
// storage records, OGF Usage Record 2.0, CloudEvents) and turns them, through
// a YAML mapping file, into fedmeter usage records: resource, metric,
// quantity, start and end.
//
// Reading and mapping are two steps. Parse reads a file of one format into
// Records, flat field/value maps that keep where each record was (line,
// element). Mapping.Apply turns Records into Usage, converting units exactly
// (no floating point) and reporting every record it cannot use as a Problem
// named by file and line or element: malformed records, records that map to
// no resource, fields in the wrong units, values that overflow, duplicates.
//
// The package imports the standard library, gopkg.in/yaml.v3 and the
// contract's leaf model chaincode/model (for its ID and field rules) only: no
// ledger, contract or client code. Submitting is the caller's part
// (fedmeter usage import does it with cli/client).
package usageimport

import (
	"fmt"
	"sort"
	"strings"
)

// Formats an accounting file may have.
const (
	FormatAPEL            = "apel"             // APEL-cloud-message v0.2/v0.4 (key: value records separated by %%)
	FormatAPELAccelerator = "apel-accelerator" // APEL accelerator records v0.1 (cASO's JSON message, or key: value text)
	FormatAPELIP          = "apel-ip"          // APEL public IP records v0.2 (cASO's JSON message): counts at an instant
	FormatStAR            = "star"             // EMI StAR storage records (XML)
	FormatOGFUR           = "ogf-ur"           // OGF Usage Record 2.0 (XML)
	FormatCloudEvents     = "cloudevents"      // CloudEvents 1.0 JSON, structured mode or batch mode
)

// Formats lists the formats Parse reads.
var Formats = []string{FormatAPEL, FormatAPELAccelerator, FormatAPELIP, FormatStAR, FormatOGFUR, FormatCloudEvents}

// MaxFileSize is the largest file Parse reads (256 MiB).
const MaxFileSize = 256 << 20

// Record is one accounting record as read from a file.
type Record struct {
	File string `json:"file"`
	// Line is the line the record starts on (1-based).
	Line int `json:"line"`
	// Element names the record in an XML or JSON document, e.g.
	// "StorageUsageRecord 3" or "event 2"; empty for APEL text records.
	Element string `json:"element,omitempty"`
	// Identity is the record's own identity in its format (VMUUID; AccUUID
	// and month; StAR/UR recordId; CloudEvents source and id), used to
	// find duplicates and, with ids: source, to derive record IDs.
	Identity string `json:"identity"`
	// Fields are the record's values by field name (see the format's
	// parser for how names are formed).
	Fields map[string]string `json:"fields"`
	// Units are units the record itself declares for a field (an XML
	// storageUnit attribute, a CloudEvents "<field>_unit"), by field name.
	Units map[string]string `json:"units,omitempty"`
	// content, if set, names the fields that are the record's content when
	// it repeats an identity (a duplicate has the same, a conflict other
	// values); otherwise every field is. apel-ip sets it: a re-extraction
	// of one measurement carries a new random uuid, and maybe another
	// CloudType, but is the same count.
	content []string
}

// Where is the record's location for messages: "file line 12" or
// "file line 40 (StorageUsageRecord 3)".
func (r *Record) Where() string { return where(r.File, r.Line, r.Element) }

func where(file string, line int, elem string) string {
	s := file
	if line > 0 {
		s += fmt.Sprintf(" line %d", line)
	}
	if elem != "" {
		s += " (" + elem + ")"
	}
	return s
}

// Problem kinds.
const (
	Malformed = "malformed" // not a valid record of the format: syntax, missing or repeated field, bad number, bad time, not UTF-8
	Unmapped  = "unmapped"  // the record maps to no resource or no provider
	BadUnit   = "unit"      // a field's unit is not the one the mapping expects, or cannot be converted
	Overflow  = "overflow"  // a value is too large for a quantity (int64) or a time
	Duplicate = "duplicate" // the record repeats an earlier one (same identity or same resource, metric and period)
	Conflict  = "conflict"  // same identity or same resource, metric and period as an earlier record, but other content
)

// Problem is a record (or a part of a file) that cannot be imported.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Element string `json:"element,omitempty"`
	Kind    string `json:"kind"`
	Msg     string `json:"message"`
}

func (p Problem) Error() string {
	return where(p.File, p.Line, p.Element) + ": " + p.Kind + ": " + p.Msg
}

// Fatal reports whether the problem stops an import: every kind but
// Duplicate (an exact repeat, which is skipped).
func (p Problem) Fatal() bool { return p.Kind != Duplicate }

func (r *Record) problem(kind, format string, args ...any) Problem {
	return Problem{File: r.File, Line: r.Line, Element: r.Element, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads the records of one file of the given format. It reads the
// whole file and reports every record it cannot read as a Problem, so one
// pass names all the faults; records read before a fault that stops
// reading (broken XML or JSON syntax) are returned with it.
func Parse(format, name string, data []byte) ([]Record, []Problem) {
	if len(data) > MaxFileSize {
		return nil, []Problem{{File: name, Kind: Malformed, Msg: fmt.Sprintf("the file has %d bytes, more than the %d an import reads at once; split it", len(data), MaxFileSize)}}
	}
	switch format {
	case FormatAPEL:
		return parseAPELText(name, data, "APEL-cloud-message", []string{"0.2", "0.4"}, "VMUUID")
	case FormatAPELAccelerator:
		return parseAccelerator(name, data)
	case FormatAPELIP:
		return parseIP(name, data)
	case FormatStAR:
		return parseXML(name, data, starRecord)
	case FormatOGFUR:
		return parseXML(name, data, urRecord)
	case FormatCloudEvents:
		return parseCloudEvents(name, data)
	}
	return nil, []Problem{{File: name, Kind: Malformed, Msg: fmt.Sprintf("format %q is not one of %s", format, strings.Join(Formats, ", "))}}
}

// lineOf is the 1-based line of byte offset off in data.
func lineOf(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	n := 1
	for _, c := range data[:off] {
		if c == '\n' {
			n++
		}
	}
	return n
}

// lines counts lines incrementally (offsets must not decrease).
type lines struct {
	data []byte
	off  int64
	line int
}

func (l *lines) at(off int64) int {
	if l.line == 0 {
		l.line = 1
	}
	if off > int64(len(l.data)) {
		off = int64(len(l.data))
	}
	if off < l.off {
		return lineOf(l.data, off)
	}
	for _, c := range l.data[l.off:off] {
		if c == '\n' {
			l.line++
		}
	}
	l.off = off
	return l.line
}

// SortProblems orders problems by file (in the order files first appear),
// then line, so that a report reads from the top of each file down.
func SortProblems(ps []Problem) {
	order := map[string]int{}
	for _, p := range ps {
		if _, ok := order[p.File]; !ok {
			order[p.File] = len(order)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if order[ps[i].File] != order[ps[j].File] {
			return order[ps[i].File] < order[ps[j].File]
		}
		return ps[i].Line < ps[j].Line
	})
}
