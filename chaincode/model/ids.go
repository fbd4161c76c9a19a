package model

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// DeriveUsageID is the ID of a usage record submitted without one: "u-" and
// 40 hex digits of the SHA-256 of its resource, metric, start and end. The
// quantity is left out on purpose: a corrected quantity for the same period
// keeps the ID, and the contract refuses it instead of counting it twice.
func DeriveUsageID(u UsageRecord) string {
	b := make([]byte, 0, len(u.Resource)+len(u.Metric)+44)
	b = append(append(b, u.Resource...), '\n')
	b = append(append(b, u.Metric...), '\n')
	b = append(strconv.AppendInt(b, u.Start, 10), '\n')
	b = strconv.AppendInt(b, u.End, 10)
	sum := sha256.Sum256(b) // of "resource\nmetric\nstart\nend"
	return "u-" + hex.EncodeToString(sum[:20])
}

// IsDerivedForm reports whether id has the form reserved for derived IDs,
// "u-" and 40 lower-case hex digits: a record carrying such an ID must carry
// the one its content derives.
func IsDerivedForm(id string) bool { return hexForm(id, "u-") }

// IsCorrectionForm reports whether id has the form reserved for the IDs of
// usage corrections (UsageAdjust), "c-" and 40 lower-case hex digits: no
// record is submitted with one, so an ID says what it names.
func IsCorrectionForm(id string) bool { return hexForm(id, "c-") }

// hexForm reports whether id is prefix and 40 lower-case hex digits.
func hexForm(id, prefix string) bool {
	if len(id) != len(prefix)+40 || id[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ValidID reports whether s is a valid ID (resource, record, org): 1 to 64
// letters, digits, '.', '_' or '-', starting with a letter or digit.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 || !alnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// ValidField reports whether s is a valid field name (a spec field, a
// metric, an attribute): 1 to 64 lower-case letters, digits or '_',
// starting with a letter.
func ValidField(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// BillID is the ID of a resource's seq-th bill: "<resource>:<seq:06>".
func BillID(resource string, seq int) string {
	s := strconv.Itoa(seq)
	if len(s) < 6 {
		s = "000000"[len(s):] + s
	}
	return resource + ":" + s
}
