package usageimport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// parseCloudEvents reads CloudEvents 1.0 in JSON: one event (structured
// mode), a JSON array of events (batch mode,
// application/cloudevents-batch+json), or several events one after another
// (JSON lines). An event's attributes (id, source, type, time, subject,
// extensions) are fields by their names; its data, when a JSON object, is
// flattened with dots ("data.cpu_seconds", "data.usage.memory_gib"; array
// elements by index, "data.gpus.0"). A field "<name>_unit" or "<name>Unit"
// next to a value declares its unit. An event is identified by source and
// id, as the specification says.
func parseCloudEvents(name string, data []byte) ([]Record, []Problem) {
	if p, bad := notUTF8(name, data); bad {
		return nil, []Problem{p}
	}
	var recs []Record
	var probs []Problem
	ln := &lines{data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n := 0
	event := func(raw json.RawMessage, off int64) {
		n++
		r := Record{File: name, Line: ln.at(off), Element: fmt.Sprintf("event %d", n), Fields: map[string]string{}, Units: map[string]string{}}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			probs = append(probs, r.problem(Malformed, "the event is not a JSON object"))
			return
		}
		for k, v := range obj {
			if k == "data" {
				continue
			}
			s, err := jsonScalar(v)
			if err != nil {
				probs = append(probs, r.problem(Malformed, "attribute %s %v", k, err))
				return
			}
			r.Fields[k] = s
		}
		if v := r.Fields["specversion"]; v != "1.0" {
			probs = append(probs, r.problem(Malformed, "specversion is %q, not 1.0", clip(v)))
			return
		}
		for _, k := range []string{"id", "source", "type"} {
			if r.Fields[k] == "" {
				probs = append(probs, r.problem(Malformed, "the event has no %s (required by CloudEvents 1.0)", k))
				return
			}
		}
		if ct := r.Fields["datacontenttype"]; ct != "" && !strings.Contains(ct, "json") {
			probs = append(probs, r.problem(Malformed, "datacontenttype %q is not JSON: this import reads JSON data only", clip(ct)))
			return
		}
		if d, ok := obj["data"]; ok {
			if err := flatten(r.Fields, "data", d, 0); err != nil {
				probs = append(probs, r.problem(Malformed, "%v", err))
				return
			}
		}
		for k, v := range r.Fields {
			for _, suf := range []string{"_unit", "Unit"} {
				if base, ok := strings.CutSuffix(k, suf); ok && base != "" {
					if _, has := r.Fields[base]; has {
						r.Units[base] = v
					}
				}
			}
		}
		r.Identity = r.Fields["source"] + " " + r.Fields["id"]
		recs = append(recs, r)
	}
	for {
		start := skipSpace(data, dec.InputOffset())
		if start >= int64(len(data)) {
			break
		}
		if data[start] == '[' {
			// batch mode: an array of events
			if _, err := dec.Token(); err != nil {
				probs = append(probs, Problem{File: name, Line: ln.at(start), Kind: Malformed, Msg: "not JSON: " + jsonMsg(err)})
				return recs, probs
			}
			for dec.More() {
				off := skipSpace(data, dec.InputOffset())
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					probs = append(probs, Problem{File: name, Line: ln.at(jsonErrOffset(err, off)), Kind: Malformed, Msg: "not valid JSON: " + jsonMsg(err)})
					return recs, probs
				}
				event(raw, off)
			}
			if _, err := dec.Token(); err != nil {
				probs = append(probs, Problem{File: name, Line: ln.at(dec.InputOffset()), Kind: Malformed, Msg: "not valid JSON: " + jsonMsg(err)})
				return recs, probs
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			probs = append(probs, Problem{File: name, Line: ln.at(jsonErrOffset(err, start)), Kind: Malformed, Msg: "not valid JSON: " + jsonMsg(err)})
			return recs, probs
		}
		event(raw, start)
	}
	if n == 0 && len(probs) == 0 {
		probs = append(probs, Problem{File: name, Kind: Malformed, Msg: "the file holds no event"})
	}
	return recs, probs
}

const maxJSONDepth = 16

func flatten(out map[string]string, prefix string, v json.RawMessage, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("%s nests deeper than %d", prefix, maxJSONDepth)
	}
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return nil
	}
	switch t[0] {
	case '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return fmt.Errorf("%s: %s", prefix, jsonMsg(err))
		}
		for k, x := range m {
			if err := flatten(out, prefix+"."+k, x, depth+1); err != nil {
				return err
			}
		}
	case '[':
		var a []json.RawMessage
		if err := json.Unmarshal(t, &a); err != nil {
			return fmt.Errorf("%s: %s", prefix, jsonMsg(err))
		}
		for i, x := range a {
			if err := flatten(out, prefix+"."+strconv.Itoa(i), x, depth+1); err != nil {
				return err
			}
		}
	default:
		s, err := jsonScalar(t)
		if err != nil {
			return fmt.Errorf("%s: %v", prefix, err)
		}
		out[prefix] = s
	}
	return nil
}
