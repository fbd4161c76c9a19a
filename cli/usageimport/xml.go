package usageimport

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// xmlKind tells parseXML which elements are records and how to identify one.
type xmlKind struct {
	format  string
	records map[string]bool // local names of record elements
	// identity is the record's identity from its fields ("" if none).
	identity func(f map[string]string) string
}

// StAR (EMI Storage Accounting Record 1.x): sr:StorageUsageRecords holding
// sr:StorageUsageRecord elements; capacities are in bytes.
var starRecord = xmlKind{
	format:  FormatStAR,
	records: map[string]bool{"StorageUsageRecord": true},
	identity: func(f map[string]string) string {
		if f["RecordIdentity@recordId"] == "" {
			return ""
		}
		return f["RecordIdentity@recordId"] + " " + f["EndTime"]
	},
}

// OGF Usage Record 2.0: a UsageRecords document holding records (the
// generic UsageRecord, or ComputeRecord, StorageRecord, CloudRecord,
// JobUsageRecord...), or a single record as the root.
var urRecord = xmlKind{
	format: FormatOGFUR,
	records: map[string]bool{"UsageRecord": true, "JobUsageRecord": true, "ComputeRecord": true,
		"StorageRecord": true, "CloudRecord": true, "CloudComputeRecord": true, "NetworkRecord": true},
	identity: func(f map[string]string) string { return f["RecordIdentity@recordId"] },
}

const maxXMLDepth = 32

// parseXML reads the records of an XML document. Each record becomes a flat
// map: an element's text under its local name ("StartTime"), its
// attributes as "Name@attr" ("RecordIdentity@recordId"); an element with a
// metric, type or attributeType attribute also as "Name[value]"
// ("Memory[max]", "GroupAttribute[subgroup]"); a name seen again in the same
// record as "Name#2", "Name#3"... A storageUnit, unit or units attribute
// declares the unit of the element's value.
func parseXML(name string, data []byte, kind xmlKind) ([]Record, []Problem) {
	var recs []Record
	var probs []Problem
	if p, bad := notUTF8(name, data); bad {
		return nil, []Problem{p}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("the document declares encoding %q; only UTF-8 is read (convert it with iconv -t UTF-8)", charset)
	}
	type frame struct {
		name  string
		key   string // the field name of this element in its record
		text  strings.Builder
		leaf  bool
		qual  string // "Name[metric]", if the element has a metric, type or attributeType
		unit  string
		inRec bool
	}
	var stack []*frame
	var cur *Record
	counts := map[string]int{}
	n := 0
	depth := 0
	sawRoot := false
	add := func(k, v string) string {
		if _, dup := cur.Fields[k]; dup {
			counts[k]++
			k = fmt.Sprintf("%s#%d", k, counts[k]+1)
		}
		cur.Fields[k] = v
		return k
	}
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			l, _ := dec.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				l = se.Line
			}
			probs = append(probs, Problem{File: name, Line: l, Kind: Malformed, Msg: "not well-formed XML: " + strings.TrimPrefix(err.Error(), "XML syntax error on line "+strconv.Itoa(l)+": ")})
			return recs, probs
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				probs = append(probs, Problem{File: name, Line: line, Kind: Malformed, Msg: fmt.Sprintf("elements nest deeper than %d", maxXMLDepth)})
				return recs, probs
			}
			local := t.Name.Local
			if !sawRoot {
				sawRoot = true
				if !kind.records[local] && !strings.HasSuffix(local, "Records") {
					probs = append(probs, Problem{File: name, Line: line, Kind: Malformed, Msg: fmt.Sprintf("the root element <%s> is not a %s document (records: %s)", local, kind.format, strings.Join(slices.Sorted(maps.Keys(kind.records)), ", "))})
					return recs, probs
				}
			}
			if len(stack) > 0 {
				stack[len(stack)-1].leaf = false
			}
			f := &frame{name: local, leaf: true, inRec: cur != nil}
			if cur == nil && kind.records[local] {
				n++
				cur = &Record{File: name, Line: line, Element: fmt.Sprintf("%s %d", local, n), Fields: map[string]string{}, Units: map[string]string{}}
				counts = map[string]int{}
				for _, a := range t.Attr {
					if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
						add(local+"@"+a.Name.Local, a.Value)
					}
				}
			} else if cur != nil {
				f.key = local
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
						continue
					}
					switch a.Name.Local {
					case "metric", "type", "attributeType":
						f.qual = local + "[" + a.Value + "]"
					case "storageUnit", "unit", "units":
						f.unit = a.Value
					}
					add(local+"@"+a.Name.Local, a.Value)
				}
			}
			stack = append(stack, f)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.EndElement:
			depth--
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if cur == nil {
				continue
			}
			if f.key == "" && kind.records[f.name] && !f.inRec {
				// the record ends
				cur.Identity = kind.identity(cur.Fields)
				if cur.Identity == "" {
					probs = append(probs, cur.problem(Malformed, "the record has no RecordIdentity recordId, which identifies it"))
				} else {
					recs = append(recs, *cur)
				}
				cur = nil
				continue
			}
			if f.leaf {
				v := strings.TrimSpace(f.text.String())
				for _, k := range []string{f.key, f.qual} {
					if k == "" {
						continue
					}
					k = add(k, v)
					if f.unit != "" {
						cur.Units[k] = f.unit
					}
				}
			}
		}
	}
	if !sawRoot {
		probs = append(probs, Problem{File: name, Kind: Malformed, Msg: "the file holds no XML element"})
	}
	return recs, probs
}
