package chaincode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// Input limits. Every argument is checked against one of these before use.
const (
	maxDescription  = 4096
	maxAuthor       = 256
	maxReason       = 1024
	maxMapEntries   = 64
	maxAttrValue    = 256
	maxPageSize     = model.MaxPageSize
	defaultPageSize = model.DefaultPageSize
	maxEntries      = 1000 // price or activation entries per key
	maxDays         = 36500
	maxTypes        = 256
	maxMembers      = 256
)

var (
	reTypeName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	reRuleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	reSemver   = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	reHash     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	reCurrency = regexp.MustCompile(`^[A-Z]{1,8}$`)
)

// Refusals. Every error a transaction returns is a *model.Refusal: a code
// (model.Code, chaincode/README.md "Refusal codes") and one sentence naming
// the field. errf is the common case, a bad argument; the others name their
// code.
func errf(format string, args ...any) error { return refusef(model.CodeBadArgument, format, args...) }

func refusef(c model.Code, format string, args ...any) error {
	return model.Refuse(c, fmt.Sprintf(format, args...))
}

func notFound(format string, args ...any) error { return refusef(model.CodeNotFound, format, args...) }
func denied(format string, args ...any) error   { return refusef(model.CodeDenied, format, args...) }
func conflict(format string, args ...any) error { return refusef(model.CodeConflict, format, args...) }
func overQuota(format string, args ...any) error {
	return refusef(model.CodeQuotaExceeded, format, args...)
}
func ruleFailed(format string, args ...any) error {
	return refusef(model.CodeRuleFailed, format, args...)
}
func ledgerf(format string, args ...any) error   { return refusef(model.CodeLedger, format, args...) }
func internalf(format string, args ...any) error { return refusef(model.CodeInternal, format, args...) }

// refuseAt is a refusal about the element at of a usage batch.
func refuseAt(c model.Code, at model.Element, format string, args ...any) error {
	return &model.Refusal{Code: c, Msg: fmt.Sprintf(format, args...), At: &at}
}

// corrupt is the refusal of a stored value that does not decode.
func corrupt(k string, err error) error {
	return ledgerf("the stored value of %s is corrupt: %v", k, msgOf(err))
}

// msgOf is err's sentence without a refusal's wire prefix, to quote inside
// another refusal.
func msgOf(err error) string {
	var r *model.Refusal
	if errors.As(err, &r) {
		return r.Msg
	}
	return err.Error()
}

// coded returns err as a refusal: itself if it is one, else a refusal of
// code c with its message (errors of the stub, of encoding/json, of the
// host).
func coded(c model.Code, err error) error {
	if err == nil || model.CodeOf(err) != "" {
		return err
	}
	return model.Refuse(c, err.Error())
}

func checkPattern(field, v string, re *regexp.Regexp, what string) error {
	return checkValid(field, v, re.MatchString, what)
}

// checkValid refuses v, the argument field, unless ok(v); what says what
// a valid one is.
func checkValid(field, v string, ok func(string) bool, what string) error {
	if v == "" {
		return errf("%s is required", field)
	}
	if !ok(v) {
		return errf("%s %q is not valid: it must be %s", field, v, what)
	}
	return nil
}

func checkOrg(field, v string) error {
	return checkValid(field, v, model.ValidID, "an MSP ID of 1 to 64 letters, digits, '.', '_' or '-'")
}

func checkID(field, v string) error {
	return checkValid(field, v, model.ValidID, "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
}

func checkTypeName(field, v string) error {
	return checkPattern(field, v, reTypeName, "1 to 32 lower-case letters, digits, '_' or '-', starting with a letter")
}

func checkField(field, v string) error {
	return checkValid(field, v, model.ValidField, "1 to 64 lower-case letters, digits or '_', starting with a letter")
}

func checkHash(field, v string) error {
	return checkPattern(field, v, reHash, "64 lower-case hex digits (a SHA-256)")
}

func checkText(field, v string, max int, required bool) error {
	if v == "" && required {
		return errf("%s is required", field)
	}
	if len(v) > max {
		return errf("%s is %d bytes long; at most %d are allowed", field, len(v), max)
	}
	if !utf8.ValidString(v) {
		return errf("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' {
			return errf("%s contains a control character", field)
		}
	}
	return nil
}

func checkCurrency(field, v string) error {
	return checkPattern(field, v, reCurrency, "1 to 8 upper-case letters")
}

// parseInt parses a decimal integer argument in [min, max].
func parseInt(field, s string, min, max int64) (int64, error) {
	if s == "" {
		return 0, errf("%s is required", field)
	}
	if !isIntLiteral(s) {
		return 0, errf("%s must be an integer, got %q", field, s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errf("%s %s does not fit in a 64-bit integer", field, s)
	}
	if v < min || v > max {
		return 0, errf("%s must be between %d and %d, got %d", field, min, max, v)
	}
	return v, nil
}

// parseTime parses Unix seconds or RFC 3339. An empty string yields def.
func parseTime(field, s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	if isIntLiteral(s) {
		return parseInt(field, s, 0, math.MaxInt64/2)
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, errf("%s must be Unix seconds or an RFC 3339 time, got %q", field, s)
	}
	if t.Unix() < 0 {
		return 0, errf("%s must not be before 1970, got %q", field, s)
	}
	return t.Unix(), nil
}

// decodeJSON decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeJSON(field, s string, v any) error {
	if strings.TrimSpace(s) == "" {
		return errf("%s is required", field)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errf("%s is not valid JSON for this argument: %s", field, strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errf("%s has data after its JSON value", field)
	}
	return nil
}

// parseIntMap parses a JSON object of names to non-negative integers.
// An empty string yields an empty map when optional.
func parseIntMap(field, s string, optional bool) (map[string]int64, error) {
	out := map[string]int64{}
	if strings.TrimSpace(s) == "" && optional {
		return out, nil
	}
	var raw map[string]json.RawMessage
	if err := decodeJSON(field, s, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errf("%s must be a JSON object", field)
	}
	return intMap(field, raw)
}

func intMap(field string, raw map[string]json.RawMessage) (map[string]int64, error) {
	if len(raw) > maxMapEntries {
		return nil, errf("%s has %d entries; at most %d are allowed", field, len(raw), maxMapEntries)
	}
	out := make(map[string]int64, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if err := checkField(field+" name", name); err != nil {
			return nil, err
		}
		v, err := jsonInt(field+"."+name, raw[name])
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, errf("%s.%s must not be negative, got %d", field, name, v)
		}
		out[name] = v
	}
	return out, nil
}

// jsonInt reads a JSON integer literal (no fraction, no exponent, no string).
func jsonInt(field string, raw json.RawMessage) (int64, error) {
	lit := string(bytes.TrimSpace(raw))
	if !isIntLiteral(lit) {
		return 0, errf("%s must be an integer, got %s", field, lit)
	}
	v, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return 0, errf("%s %s does not fit in a 64-bit integer", field, lit)
	}
	return v, nil
}

// isIntLiteral reports whether s is an optional '-' and one or more ASCII
// digits (what ^-?[0-9]+$ matches), without a regexp: UsageSubmit checks
// three per record.
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

// parseStringMap parses a JSON object of names to short strings.
func parseStringMap(field, s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	var raw map[string]string
	if err := decodeJSON(field, s, &raw); err != nil {
		return nil, err
	}
	if len(raw) > maxMapEntries {
		return nil, errf("%s has %d entries; at most %d are allowed", field, len(raw), maxMapEntries)
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if err := checkField(field+" name", k); err != nil {
			return nil, err
		}
		if err := checkText(field+"."+k, raw[k], maxAttrValue, false); err != nil {
			return nil, err
		}
		out[k] = raw[k]
	}
	return out, nil
}

// parseList parses a JSON array of strings or a comma-separated list.
func parseList(field, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errf("%s is required", field)
	}
	var list []string
	if strings.HasPrefix(s, "[") {
		if err := decodeJSON(field, s, &list); err != nil {
			return nil, err
		}
	} else {
		for _, p := range strings.Split(s, ",") {
			list = append(list, strings.TrimSpace(p))
		}
	}
	if len(list) == 0 {
		return nil, errf("%s must name at least one entry", field)
	}
	return list, nil
}

// uniqueSorted returns the sorted list, or an error naming a duplicate.
func uniqueSorted(field string, list []string) ([]string, error) {
	out := append([]string(nil), list...)
	sort.Strings(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] {
			return nil, errf("%s names %q twice", field, out[i])
		}
	}
	return out, nil
}

// without returns list without v (a new slice; list is left alone).
func without(list []string, v string) []string {
	kept := list[:0:0]
	for _, x := range list {
		if x != v {
			kept = append(kept, x)
		}
	}
	return kept
}

// addChecked adds two int64 values, reporting overflow against field.
func addChecked(field string, a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, errf("%s overflows a 64-bit integer", field)
	}
	return s, nil
}

// parsePage parses a page size argument ("" means the default).
func parsePage(s string) (int, error) {
	if s == "" {
		return defaultPageSize, nil
	}
	v, err := parseInt("page_size", s, 1, maxPageSize)
	return int(v), err
}
