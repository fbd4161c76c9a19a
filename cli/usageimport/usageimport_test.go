package usageimport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mapping(t testing.TB, yml string) *Mapping {
	t.Helper()
	m, err := LoadMapping([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run parses and maps one fixture; problems of both steps come back
// sorted, as "line N: kind: message" (with the element if any).
func run(t *testing.T, m *Mapping, format, file string) (*Plan, []string) {
	t.Helper()
	recs, probs := Parse(format, file, load(t, file))
	p, err := m.Apply(format, recs, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := append(probs, p.Problem...)
	SortProblems(all)
	var out []string
	for _, x := range all {
		if x.File != file {
			t.Errorf("problem of file %q, want %q", x.File, file)
		}
		out = append(out, strings.TrimPrefix(x.Error(), file+" "))
	}
	return p, out
}

// usage renders the plan's usage as "resource metric quantity start end".
func usage(p *Plan) []string {
	var out []string
	for _, u := range p.Usage {
		s := fmt.Sprintf("%s %s %d %d %d", u.Resource, u.Metric, u.Quantity, u.Start, u.End)
		if u.Provider != "" {
			s += " " + u.Provider
		}
		out = append(out, s)
	}
	return out
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

const (
	jan1   = 1767225600 // 2026-01-01T00:00:00Z
	feb1   = 1769904000
	dec1   = 1764547200 // 2025-12-01
	hour   = 3600
	gib    = 1 << 30
	twoGiB = 2 * gib
)

// TestFixtures maps every well-formed fixture with testdata/mapping.yaml;
// each expected quantity is worked out by hand in the comment beside it.
func TestFixtures(t *testing.T) {
	m := mapping(t, string(load(t, "mapping.yaml")))
	at := func(h int) int64 { return jan1 + int64(h)*hour }
	row := func(res, metric string, q, s, e int64, org string) string {
		return fmt.Sprintf("%s %s %d %d %d %s", res, metric, q, s, e, org)
	}
	for _, c := range []struct {
		format, file string
		records      int
		skipped      int
		zero         int
		want         []string
	}{
		{FormatAPEL, "cloud.apel", 4, 1, 0, []string{
			row("vm-a", "cpu_seconds", 72000, at(0), at(10), "Org1MSP"),
			row("vm-a", "wall_hours", 10, at(0), at(10), "Org1MSP"),                 // 36000 s
			row("vm-a", "memory_gib_seconds", 144000, at(0), at(10), "Org1MSP"),     // 4096 MiB = 4 GiB x 36000 s
			row("vm-a", "public_ip_seconds", 36000, at(0), at(10), "Org1MSP"),       // 1 x 36000
			row("vm-b", "cpu_seconds", 23400, at(1), at(1)+23400, "Org1MSP"),        // times as Python's str(datetime)
			row("vm-b", "wall_hours", 7, at(1), at(1)+23400, "Org1MSP"),             // 6.5 h, round: up
			row("vm-b", "memory_gib_seconds", 46800, at(1), at(1)+23400, "Org1MSP"), // 2 GiB x 23400; no PublicIPCount: optional
			row("vm-c", "cpu_seconds", 57600, 1767240000, 1767254400, "Org2MSP"),
			row("vm-c", "wall_hours", 4, 1767240000, 1767254400, "Org2MSP"),
			row("vm-c", "memory_gib_seconds", 115200, 1767240000, 1767254400, "Org2MSP"), // 8 x 14400
			row("vm-c", "public_ip_seconds", 28800, 1767240000, 1767254400, "Org2MSP"),   // 2 x 14400
			// vm-d is still running (Status started): left out by where
		}},
		{FormatAPELAccelerator, "accelerator.json", 3, 0, 0, []string{
			row("acc-GPU-4a1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b", "gpu_seconds", 144000, jan1, feb1, "Org1"), // 2 x 72000
			row("acc-GPU-4a1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b", "gpu_available_hours", 24, jan1, feb1, "Org1"),
			// no ActiveDuration (optional); 3600.5 s is 1.0001 h, nearest 1
			row("acc-GPU-4a1b2c3d-0002-4e5f-8a9b-0c1d2e3f4a5b", "gpu_available_hours", 1, jan1, feb1, "Org1"),
			// the same GPU in December 2025: another record (identity: AccUUID and month)
			row("acc-GPU-4a1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b", "gpu_seconds", 3600, dec1, jan1, "Org1"),
			row("acc-GPU-4a1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a5b", "gpu_available_hours", 1, dec1, jan1, "Org1"),
		}},
		{FormatAPELIP, "ip.json", 5, 0, 1, []string{
			row("ips-astro", "public_ipv4_seconds", 10800, jan1, at(1), "Org1MSP"), // 3 IPs x the 1h interval up to 01:00
			row("ips-astro", "public_ipv6_seconds", 3600, jan1, at(1), "Org1MSP"),  // 1 IPv6 at the same instant: a metric of its own
			row("ips-bio", "public_ipv4_seconds", 7200, jan1, at(1), "Org2MSP"),    // 2 x 3600, FEDCLOUD-BETA
			row("ips-astro", "public_ipv4_seconds", 7200, at(1), at(2), "Org1MSP"), // ISO time without a zone (older cASO): UTC
			// the IPv6 count 0 at 02:00: not sent
		}},
		{FormatStAR, "storage.xml", 3, 0, 0, []string{
			row("vol-3f1e0c2a-1111-4b5c-9d8e-7f6a5b4c3d2e", "storage_gib_seconds", 216000, at(0), at(6), "Org1MSP"),  // 10 GiB x 21600 s
			row("vol-3f1e0c2a-1111-4b5c-9d8e-7f6a5b4c3d2e", "storage_gib_seconds", 118800, at(6), at(12), "Org1MSP"), // 5.5 GiB x 21600
			row("vol-8a7b6c5d-2222-4e3f-a1b2-c3d4e5f6a7b8", "storage_gib_seconds", 3353, at(0), at(1), "Org2MSP"),    // 1e9 B = 0.93132 GiB x 3600 = 3352.76
		}},
		{FormatOGFUR, "ur.xml", 3, 1, 0, []string{
			row("gamma-batch", "cpu_seconds", 32400, 1767249000, at(9), "Org3MSP"), // PT9H
			row("gamma-batch", "wall_seconds", 9000, 1767249000, at(9), "Org3MSP"), // PT2H30M
			row("gamma-batch", "memory_mib", 1953, 1767249000, at(9), "Org3MSP"),   // 2048 MB (storageUnit) = 1953.125 MiB
			row("gamma-batch", "egress_gib", 2, 1767249000, at(9), "Org3MSP"),      // 1.5 GB = 1.397 GiB, round: up
			row("gamma-batch", "cpu_seconds", 1, at(9), at(10), "Org3MSP"),         // PT0.5S, nearest: half up
			row("gamma-batch", "wall_seconds", 3600, at(9), at(10), "Org3MSP"),
			row("gamma-batch", "memory_mib", 512, at(9), at(10), "Org3MSP"), // 524288 KiB
			row("gamma-batch", "egress_gib", 1, at(9), at(10), "Org3MSP"),   // 250 MB, round: up
			// job 81236 failed: left out by where
		}},
		{FormatCloudEvents, "events-batch.json", 3, 0, 1, []string{
			row("vm-a", "cpu_seconds", 72000, at(0), at(10), "Org1MSP"),
			row("vm-a", "egress_mib", 3328, at(0), at(10), "Org1MSP"), // 3.25 GiB
			row("vm-b", "cpu_seconds", 23400, at(1), at(1)+23400, "Org1MSP"),
			row("vm-b", "egress_mib", 512, at(1), at(1)+23400, "Org1MSP"),        // egress_unit MiB overrides from: GiB
			row("vm-c", "cpu_seconds", 57600, 1767240000, 1767254400, "Org1MSP"), // 5.76e4
			// egress 0: not sent
		}},
		{FormatCloudEvents, "events.jsonl", 2, 0, 0, []string{
			row("vm-c", "cpu_seconds", 3600, 1767254400, 1767258000, "Org1MSP"),
			row("vm-c", "egress_mib", 954, 1767254400, 1767258000, "Org1MSP"), // 1 GB = 953.67 MiB
			row("vm-c", "cpu_seconds", 1800, 1767258000, 1767261600, "Org1MSP"),
			row("vm-c", "egress_mib", 2048, 1767258000, 1767261600, "Org1MSP"),
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			p, probs := run(t, m, c.format, c.file)
			same(t, "problems", probs, nil)
			same(t, "usage", usage(p), c.want)
			if p.Records != c.records || p.Skipped != c.skipped || p.Zero != c.zero {
				t.Errorf("records %d skipped %d zero %d, want %d %d %d", p.Records, p.Skipped, p.Zero, c.records, c.skipped, c.zero)
			}
		})
	}
}

// TestNasty checks that each bad record of the nasty fixtures is reported
// by line (and element), with the right kind, and that nothing else is.
func TestNasty(t *testing.T) {
	m := mapping(t, string(load(t, "mapping.yaml")))
	// For the cloud records: resources by prefix, so that every record
	// reaches the checks of its numbers.
	byPrefix := mapping(t, `
apel:
  provider: {field: SiteName, orgs: {FEDCLOUD-ALPHA: Org1MSP}}
  resource: {field: VMUUID, prefix: vm-}
  metrics:
    - {metric: cpu_seconds, field: CpuDuration, from: s}
    - {metric: memory_gib_seconds, field: Memory, from: MiB, to: GiB, times: WallDuration}
`)
	for _, c := range []struct {
		m            *Mapping
		format, file string
		want         []string
		usage        int
	}{
		{byPrefix, FormatAPEL, "cloud-nasty.apel", []string{
			"line 2: malformed: the record has no EndTime, which gives its period (a VM still running has none: import it once it has ended)",
			`line 29: unit: CpuDuration is in "x", a unit this import does not know (time: ms, s, min, h, d; data size: B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB; count: 1)`,
			// line 56: Memory "4 GB" is a unit of its own, converted
			`line 83: unit: Memory is in s (a time) but the mapping reads it as MiB (a data size) for memory_gib_seconds`,
			"line 110: duplicate: repeats the record at cloud-nasty.apel line 56 (same identity bad-00000003, same content): skipped",
			"line 137: conflict: has the identity bad-00000003 of the record at cloud-nasty.apel line 56, with other content (a later report of the same record? import only the latest)",
			`line 164: unmapped: VMUUID "vm/with/a/slash" gives resource ID "vm-vm/with/a/slash", which is not valid (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)`,
			`line 191: unmapped: SiteName "ELSEWHERE" maps to no provider org (provider.orgs names FEDCLOUD-ALPHA)`,
			`line 218: overflow: CpuDuration "99999999999999999999999" in s is 99999999999999999999999, more than a quantity holds (9223372036854775807): too large`,
			`line 245: malformed: CpuDuration "-5": is negative`,
			// 1e30 MiB = 1e30/1024 GiB, times 36000 s
			`line 272: overflow: Memory "1e30" in GiB is 35156250000000000000000000000000, more than a quantity holds (9223372036854775807): too large`,
			"line 299: malformed: EndTime 1767225600 is not after StartTime 1767261600",
			`line 326: malformed: StartTime "yesterday": is not a time (Unix seconds, or RFC 3339 such as 2026-01-01T00:00:00Z)`,
			"line 354: malformed: the line is not UTF-8 (byte 0xe9 at column 18)",
			`line 382: malformed: "this line has no colon" is not a "Key: Value" line`,
			"line 385: malformed: field VMUUID appears twice in the record that starts at line 384",
		}, 2},
		{m, FormatAPELAccelerator, "accelerator.apel", []string{
			`line 15: malformed: MeasurementMonth "13" is not a month (1 to 12)`,
			"line 23: unit: ActiveDuration is in GiB (a data size) but the mapping reads it as s (a time) for gpu_seconds",
		}, 2},
		{m, FormatAPELAccelerator, "accelerator-nasty.json", []string{
			"line 2 (message 1 record 1): malformed: field ActiveDuration: is an object or array, not a value",
			"line 3 (message 1 record 2): malformed: the record has no AccUUID, which identifies it",
			`line 4 (message 1 record 3): overflow: ActiveDuration "1e400": has exponent 400, beyond ±30: too large`,
			`line 6 (message 2): malformed: Type is "APEL-cloud-message", not APEL-accelerator-message`,
			"line 7: malformed: not a JSON accelerator message: unexpected EOF",
		}, 0},
		{m, FormatAPELIP, "ip-nasty.json", []string{
			`line 2 (message 1 record 1): malformed: IPVersion "5" is not 4 or 6`,
			"line 3 (message 1 record 2): malformed: the record has no MeasurementTime, the instant it counts at",
			`line 4 (message 1 record 3): malformed: IPCount "-1": is negative`,
			// record 4 (line 5) is good; record 5 is the same measurement from another cASO run:
			// a new random uuid, another CloudType and the time as RFC 3339
			"line 6 (message 1 record 5): duplicate: repeats the record at ip-nasty.json line 5 (message 1 record 4) (same identity FEDCLOUD-ALPHA alpha-nova 4f1c0b3e9a2d4c5b8e7f6a1b2c3d4e5..., same content): skipped",
			"line 7 (message 1 record 6): conflict: has the identity FEDCLOUD-ALPHA alpha-nova 4f1c0b3e9a2d4c5b8e7f6a1b2c3d4e5... of the record at ip-nasty.json line 5 (message 1 record 4), with other content (a later report of the same record? import only the latest)",
			`line 8 (message 1 record 7): malformed: MeasurementTime "2026-13-01T00:00:00Z": is not a time (Unix seconds, or RFC 3339 such as 2026-01-01T00:00:00Z)`,
			`line 9 (message 1 record 8): unmapped: LocalGroup "ffffffffffffffffffffffffffffffff" maps to no resource (resource.ids does not name it)`,
			"line 10 (message 1 record 9): malformed: the record is not a JSON object",
			"line 11 (message 1 record 10): malformed: the record has neither LocalGroup nor LocalUser: it counts the IPs of nobody",
			`line 12 (message 1 record 11): overflow: IPCount "1e30" in 1 is 3600000000000000000000000000000000, more than a quantity holds (9223372036854775807): too large`,
			"line 13 (message 1 record 12): malformed: field IPCount: is an object or array, not a value",
			"line 14 (message 1 record 13): malformed: MeasurementTime 1000 is less than the interval (1h) after 1970",
			`line 16 (message 2): malformed: Type is "APEL-cloud-message", not APEL Public IP message`,
			`line 17 (message 3): malformed: Version "0.1" is not one this import reads (0.2)`,
			"line 18: malformed: not a JSON public IP message: unexpected EOF",
		}, 1},
		{m, FormatStAR, "storage-nasty.xml", []string{
			"line 3 (StorageUsageRecord 1): malformed: EndTime 2026-01-01T00:00:00Z is not after StartTime 2026-01-01T06:00:00Z",
			"line 10 (StorageUsageRecord 2): malformed: the record has no RecordIdentity recordId, which identifies it",
			"line 16 (StorageUsageRecord 3): malformed: the record has no ResourceCapacityUsed, which gives storage_gib_seconds (mark the metric optional: true if records may lack it)",
			`line 22 (StorageUsageRecord 4): malformed: ResourceCapacityUsed "-1073741824": is negative`,
			`line 29 (StorageUsageRecord 5): overflow: ResourceCapacityUsed "92233720368547758070000000000" in GiB is 309237645311999999966472, more than a quantity holds (9223372036854775807): too large`,
			"line 41: malformed: not well-formed XML: element <EndTime> closed by </StorageUsageRecord>",
		}, 0},
		{m, FormatStAR, "storage-latin1.xml", []string{
			"line 6: malformed: the file is not UTF-8 (byte 0xe9 at offset 266); convert it (iconv -t UTF-8) and import again",
		}, 0},
		{m, FormatOGFUR, "ur-nasty.xml", []string{
			`line 3 (JobUsageRecord 1): malformed: WallDuration "P1M": counts years or months, which have no fixed length in seconds`,
			"line 13 (JobUsageRecord 2): malformed: the record has no Memory[max], which gives memory_mib (mark the metric optional: true if records may lack it)",
			"line 23 (JobUsageRecord 3): duplicate: repeats the record at ur-nasty.xml line 3 (JobUsageRecord 1) (same identity grid.example.org/job/9001, same content): skipped",
			`line 33 (JobUsageRecord 4): overflow: WallDuration "PT99999999999999999999999999999999999999999S": has a component of more than 40 digits: too large`,
		}, 0},
		{m, FormatCloudEvents, "events-nasty.json", []string{
			`line 2 (event 1): malformed: specversion is "0.3", not 1.0`,
			"line 3 (event 2): malformed: the event has no id (required by CloudEvents 1.0)",
			"line 4 (event 3): unit: data.egress is in hours (a time) but the mapping reads it as GiB (a data size) for egress_mib",
			`line 6 (event 4): malformed: data.cpu_seconds "NaN": is not a number`,
			`line 8 (event 5): unmapped: project "physics" maps to no provider org (provider.orgs names astro, bio)`,
			"line 10 (event 6): duplicate: repeats the record at events-nasty.json line 4 (event 3) (same identity /x n-3, same content): skipped",
			`line 12 (event 7): malformed: datacontenttype "application/xml" is not JSON: this import reads JSON data only`,
			`line 13 (event 8): overflow: data.cpu_seconds "1e19" in s is 10000000000000000000, more than a quantity holds (9223372036854775807): too large`,
			"line 15: malformed: not valid JSON: unexpected EOF",
		}, 0},
	} {
		t.Run(c.file, func(t *testing.T) {
			p, probs := run(t, c.m, c.format, c.file)
			same(t, "problems", probs, c.want)
			if len(p.Usage) != c.usage {
				t.Errorf("%d usage records, want %d: %v", len(p.Usage), c.usage, usage(p))
			}
		})
	}
}
