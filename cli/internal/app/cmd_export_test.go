package app

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/chaincode/model"
)

// update rewrites the export golden files: go test ./cli/internal/app -run TestExportGolden -update
var update = flag.Bool("update", false, "rewrite the export golden files in testdata/export")

// goldenBills are bills of every kind, with the awkward values a finance
// export meets: a correction's free-text reason with a comma, quotes and a
// newline; a negative credit without lines; scale 0 and 3; a line without a
// unit price; text that is not ASCII.
func goldenBills() []model.Bill {
	rule := model.RuleRef{Name: "ecs", Version: "1.0.0", Hash: strings.Repeat("ab", 32)}
	return []model.Bill{
		{ID: "ecs-1:000001", Kind: model.BillKindRelease, Provider: "Org1MSP", Consumer: "Org2MSP", Resource: "ecs-1", ResourceType: "ecs",
			Period: model.Period{Start: 1767225600, End: 1767312000}, Rule: rule, GasUsed: 123456, InputHash: strings.Repeat("cd", 32),
			Amount: 2344, Currency: "CNY", Scale: 2, Tx: "tx-1", IssuedAt: 1767312000, IssuedBy: model.Actor{MSP: "Org2MSP", ID: "User1"},
			Lines: []model.BillLine{
				{Item: "vcpu", Quantity: 172800, Unit: "vcpu_second", Amount: 576},
				{Item: "egress", Quantity: 22, Unit: "gib", UnitPrice: 80, Amount: 1760},
				{Item: "public IP, \"floating\"", Amount: 8},
			}},
		{ID: "ecs-2:000001", Kind: model.BillKindPeriod, Provider: "Org1MSP", Consumer: "Org2MSP", Resource: "ecs-2", ResourceType: "ecs",
			Period: model.Period{Start: 1767225600, End: 1769904000}, Rule: rule, GasUsed: 99, InputHash: strings.Repeat("ef", 32),
			Amount: 1234567, Currency: "USD", Scale: 3, Tx: "tx-2", IssuedAt: 1769904000, IssuedBy: model.Actor{MSP: "Org1MSP", ID: "Admin"}, Overrun: 3600,
			Lines: []model.BillLine{{Item: "Speicher (GiB·h)", Quantity: 7, Unit: "gib_hour", UnitPrice: 176366, Amount: 1234562}, {Item: "rounding", Amount: 5}}},
		{ID: "ecs-1:000002", Kind: model.BillKindAdjustment, Adjusts: "ecs-1:000001", Reason: "price fix, see \"ticket 42\"\nsecond line",
			Provider: "Org1MSP", Consumer: "Org2MSP", Resource: "ecs-1", ResourceType: "ecs",
			Period: model.Period{Start: 1767225600, End: 1767312000}, Rule: rule, Amount: -144, Currency: "CNY", Scale: 2, Tx: "tx-3", IssuedAt: 1767400000,
			IssuedBy: model.Actor{MSP: "Org1MSP", ID: "Admin"},
			Lines:    []model.BillLine{{Item: "-vcpu (re-rated)", Quantity: -43200, Unit: "vcpu_second", Amount: -144}}},
		{ID: "gpu-9:000003", Kind: model.BillKindCredit, Adjusts: "gpu-9:000002", Reason: "=outage credit", Provider: "Org3MSP", Consumer: "Org1MSP",
			Resource: "gpu-9", ResourceType: "gpu", Period: model.Period{Start: 1767225600, End: 1769904000},
			Amount: -5000, Currency: "JPY", Scale: 0, Tx: "tx-4", IssuedAt: 1770000000, IssuedBy: model.Actor{MSP: "Org3MSP", ID: "Admin"}},
	}
}

func goldenUsage() ([]exportResource, [][]model.UsageRecord) {
	return []exportResource{{"ecs-1", "ecs", "Org1MSP", "Org2MSP"}, {"vol-7", "storage", "Org3MSP", "Org1MSP"}},
		[][]model.UsageRecord{
			{{ID: "u-1", Resource: "ecs-1", Metric: "cpu_seconds", Quantity: 72000, Start: 1767225600, End: 1767261600},
				{ID: "u-f3a9", Resource: "ecs-1", Metric: "egress_gib", Quantity: 9223372036854775807, Start: 1767261600, End: 1767265200},
				{ID: "c-7e01", Resource: "ecs-1", Metric: "cpu_seconds", Quantity: -3600, Start: 1767225600, End: 1767261600, Adjusts: "u-1", Reason: "idle hour, \"counted\", twice"}},
			{{ID: "i-00aa", Resource: "vol-7", Metric: "storage_gib_seconds", Quantity: 0, Start: 0, End: 1}},
		}
}

// TestExportGolden writes the golden bills and usage in every layout and
// format and compares them with testdata/export: the columns are a
// contract with spreadsheets and finance systems, and a change to them
// must be a deliberate -update, reviewed in the diff.
func TestExportGolden(t *testing.T) {
	res, recs := goldenUsage()
	for _, c := range []struct {
		name  string
		cols  []string
		write func(rw *rowWriter) error
	}{
		{"bills", billColumns, func(rw *rowWriter) error {
			for _, b := range goldenBills() {
				if err := writeBill(rw, &b); err != nil {
					return err
				}
			}
			return nil
		}},
		{"bill-lines", billLineColumns, func(rw *rowWriter) error {
			for _, b := range goldenBills() {
				if err := writeBillLines(rw, &b); err != nil {
					return err
				}
			}
			return nil
		}},
		{"usage", usageColumns, func(rw *rowWriter) error {
			for i := range res {
				for _, u := range recs[i] {
					if err := writeUsage(rw, &res[i], &u); err != nil {
						return err
					}
				}
			}
			return nil
		}},
	} {
		for _, format := range []string{"csv", "jsonl"} {
			t.Run(c.name+"."+format, func(t *testing.T) {
				var buf bytes.Buffer
				rw, err := newRowWriter(&buf, format, c.cols)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.write(rw); err != nil {
					t.Fatal(err)
				}
				if err := rw.flush(); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join("testdata", "export", c.name+"."+format)
				if *update {
					if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (go test -run TestExportGolden -update writes it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("%s differs from the export (go test -run TestExportGolden -update rewrites it if the change is meant):\ngot:\n%s\nwant:\n%s", file, buf.Bytes(), want)
				}
				checkExport(t, format, c.cols, buf.Bytes())
			})
		}
	}
}

// checkExport reads an export back: every row has every column, in
// order, and JSON lines hold integers as integers; amounts are exact.
func checkExport(t *testing.T, format string, cols []string, data []byte) [][]string {
	t.Helper()
	var rows [][]string
	switch format {
	case "csv":
		all, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not read back: %v", err)
		}
		if strings.Join(all[0], ",") != strings.Join(cols, ",") {
			t.Fatalf("header %v, want %v", all[0], cols)
		}
		rows = all[1:]
	case "jsonl":
		for i, ln := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if ln == "" {
				continue
			}
			dec := json.NewDecoder(strings.NewReader(ln))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("line %d is not a JSON object: %v", i+1, err)
			}
			if len(m) != len(cols) {
				t.Fatalf("line %d has %d keys, want %d", i+1, len(m), len(cols))
			}
			// keys in column order
			var row []string
			rest := ln
			for _, c := range cols {
				k := `"` + c + `":`
				j := strings.Index(rest, k)
				if j < 0 {
					t.Fatalf("line %d: key %s missing or out of order: %s", i+1, c, ln)
				}
				rest = rest[j+len(k):]
				switch v := m[c].(type) {
				case string:
					row = append(row, v)
				case json.Number:
					if strings.ContainsAny(v.String(), ".eE") {
						t.Fatalf("line %d: %s is %s, not an integer", i+1, c, v)
					}
					row = append(row, v.String())
				default:
					t.Fatalf("line %d: %s is %T", i+1, c, v)
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// TestExportRows checks the golden rows' meaning, not only their bytes:
// the amounts of the lines sum to the bills', and the decimal column is
// the minor units at the scale.
func TestExportRows(t *testing.T) {
	var buf bytes.Buffer
	rw, _ := newRowWriter(&buf, "csv", billLineColumns)
	var total int64
	for _, b := range goldenBills() {
		total += b.Amount
		if err := writeBillLines(rw, &b); err != nil {
			t.Fatal(err)
		}
	}
	rw.flush()
	rows := checkExport(t, "csv", billLineColumns, buf.Bytes())
	col := func(name string) int {
		for i, c := range billLineColumns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return 0
	}
	var sum int64
	for _, r := range rows {
		var n int64
		if err := json.Unmarshal([]byte(r[col("amount_minor")]), &n); err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	if sum != total || len(rows) != 3+2+1+1 {
		t.Fatalf("line rows sum to %d in %d rows, want %d in 7 (a bill without lines is one row)", sum, len(rows), total)
	}
	last := rows[len(rows)-1]
	if last[col("bill")] != "gpu-9:000003" || last[col("line")] != "0" || last[col("amount")] != "-5000" || last[col("adjusts")] != "gpu-9:000002" {
		t.Fatalf("the credit without lines: %v", last)
	}
	if r := rows[3]; r[col("amount")] != "1234.562" || r[col("unit_price")] != "176.366" || r[col("item")] != "Speicher (GiB·h)" {
		t.Fatalf("scale 3 line: %v", r)
	}
	if _, err := newRowWriter(&buf, "xlsx", usageColumns); err == nil {
		t.Fatal("format xlsx accepted")
	}
	if err := rw.row("too", "few"); err == nil {
		t.Fatal("a short row was written")
	}
}

// TestExportLedger exports real bills and usage from the embedded ledger,
// with the filters, to stdout and to a file.
func TestExportLedger(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	const (
		T0  = "2026-01-01T00:00:00Z"
		T21 = "2026-01-01T21:00:00Z"
		T24 = "2026-01-02T00:00:00Z"
	)
	at := func(t string, rest string) []string { return append([]string{"--at", t}, a(rest)...) }
	usageCSV := filepath.Join(tmp, "usage.csv")
	if err := os.WriteFile(usageCSV, []byte("id,resource,metric,quantity,start,end\n"+
		"u-1,ecs-1,egress_gib,3,2026-01-01T00:00:00Z,2026-01-01T10:00:00Z\n"+
		"u-2,ecs-1,egress_gib,2,2026-01-01T10:00:00Z,2026-01-01T20:00:00Z\n"+
		"u-3,ecs-2,egress_gib,1,2026-01-01T00:00:00Z,2026-01-01T10:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "bills.csv")
	vars := map[string]string{}
	play(t, dir, vars, []step{
		{name: "init", args: at("2025-12-31T22:00:00Z", "init")},
		{name: "price", args: at(T0, "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5 egress_gib=80")},
		{name: "quota", args: at(T0, "--as Org1/Admin quota set Org2MSP max_days=365 vcpu=8 memory_gib=64 system_disk_gib=100 public_ips=2")},
		{name: "vm 1", args: at(T0, "--as Org2/User1 resource request --id ecs-1 --provider Org1MSP --type ecs --days 30 --spec vcpu=2")},
		{name: "vm 2", args: at(T0, "--as Org2/User1 resource request --id ecs-2 --provider Org1MSP --type ecs --days 30 --spec vcpu=1")},
		{name: "activate", args: at(T0, "--as Org1/Agent1 resource activate ecs-1 ecs-2")},
		{name: "usage", args: at(T21, "--as Org1/Agent1 usage submit "+usageCSV), out: []string{"3 accepted"}},
		{name: "upload", args: at(T21, "--as Org1/Admin rule upload "+wasm("ecs_hourly.wasm")+" --name ecs --version 1.0.0 --types ecs")},
		{name: "vote 1", args: at(T21, "--as Org1/Admin rule vote approve ecs@1.0.0")},
		{name: "vote 2", args: at(T21, "--as Org2/Admin rule vote approve ecs@1.0.0")},
		{name: "activate rule", args: at(T21, "--as Org1/Admin rule activate ecs ecs@1.0.0")},
		{name: "release", args: at(T24, "--as Org2/User1 resource release ecs-1"), out: []string{"9.76 CNY"}},
		{name: "close a period", args: at(T24, "--as Org1/Admin bill close ecs-2 --end 2026-01-01T22:00:00Z"), out: []string{"ecs-2:000001"}},
		// A price fix, then re-rating: an adjustment bill of ecs-1 (2 vCPU x
		// 24 h at 0.15 instead of 0.12: +1.44 CNY) with its reason.
		{name: "price fix", args: at("2026-01-02T01:00:00Z", "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=15 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5 egress_gib=80")},
		{name: "rerate", args: []string{"--at", "2026-01-02T02:00:00Z", "--as", "Org1/Admin", "bill", "rerate", "--resource", "ecs-1", "--from", T0, "--to", "2026-01-02T00:00:01Z", "--reason", "vCPU price, see \"ticket 42\""}},

		{name: "bills csv", args: a("--as Org1/Admin bill export"), out: []string{
			"bill,kind,adjusts,reason,provider,consumer,resource,resource_type,period_start,period_end,currency,scale,amount_minor,amount,lines,",
			"ecs-2:000001,period,,,Org1MSP,Org2MSP,ecs-2,ecs,2026-01-01T00:00:00Z,2026-01-01T22:00:00Z,CNY,2,",
			"ecs-1:000001,release,,,Org1MSP,Org2MSP,ecs-1,ecs,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,CNY,2,976,9.76,"}},
		{name: "the adjustment", args: a("--as Org1/Admin bill export --kind adjustment"), out: []string{
			"ecs-1:000002,adjustment,ecs-1:000001,\"vCPU price, see \"\"ticket 42\"\"\",Org1MSP,Org2MSP,ecs-1,ecs,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z,CNY,2,144,1.44,"}},
		{name: "the adjustment's lines", args: a("--as Org2/User1 bill export --kind adjustment --lines --format jsonl"), out: []string{
			`{"bill":"ecs-1:000002","kind":"adjustment","adjusts":"ecs-1:000001",`}},
		// A credit note: a bill of its own, negative, with one line, and a
		// reason that starts like a formula.
		{name: "credit", args: []string{"--at", "2026-01-02T02:30:00Z", "--as", "Org1/Admin", "bill", "credit", "ecs-2:000001", "--amount", "1.00", "--reason", "=outage, 2 hours"}},
		{name: "the credit", args: a("--as Org2/User1 bill export --kind credit"), out: []string{
			",credit,ecs-2:000001,\"'=outage, 2 hours\",Org1MSP,Org2MSP,ecs-2,ecs,",
			",CNY,2,-100,-1.00,1,,,,0,,"}},
		{name: "the credit in json lines, as written", args: a("--as Org2/User1 bill export --kind credit --format jsonl"), out: []string{
			`"kind":"credit","adjusts":"ecs-2:000001","reason":"=outage, 2 hours"`, `"amount_minor":-100,"amount":"-1.00"`}},
		{name: "the credit's line", args: a("--as Org2/User1 bill export --kind credit --lines"), out: []string{
			"ecs-2:000002,credit,ecs-2:000001,Org1MSP,Org2MSP,ecs-2,ecs,", ",CNY,2,1,", ",-100,-1.00\n"}},
		{name: "bills jsonl as the consumer", args: a("--as Org2/User1 bill export --format jsonl --role consumer"), out: []string{
			`{"bill":"ecs-2:000001","kind":"period","adjusts":"","reason":"","provider":"Org1MSP","consumer":"Org2MSP"`,
			`"amount_minor":976,"amount":"9.76"`}},
		{name: "lines", args: a("--as Org1/Admin bill export --lines --resource ecs-1"), out: []string{"bill,kind,adjusts,provider,consumer,resource,resource_type,period_start,period_end,currency,scale,line,item,", "ecs-1:000001,release,,Org1MSP,Org2MSP,ecs-1,ecs,", ",1,"}},
		{name: "to a file", args: a("--as Org1/Admin bill export --kind release --out " + out), out: []string{"Exported 1 bill (1 row) to " + out + " as csv."}},
		{name: "to a file, json report", args: a("--as Org1/Admin -o json bill export --kind period --out " + out), json: true, out: []string{`"items": 1`, `"rows": 1`}},
		{name: "counterparty as consumer", args: a("--as Org2/User1 bill export --provider Org1 --from " + T0 + " --to " + T24), out: []string{"ecs-2:000001"}},
		{name: "bad kind", args: a("bill export --kind refund"), code: 1, err: []string{`--kind "refund" is not valid`}},
		{name: "bad format", args: a("bill export --format xlsx"), code: 1, err: []string{`--format "xlsx" is not valid: it must be csv or jsonl`}},
		{name: "no side", args: a("--as Org2/User1 bill export --provider Org3MSP --consumer Org1MSP"), code: 1, err: []string{"select no bill Org2MSP can read"}},
		{name: "a third org's resource", args: a("--as Org3/Admin bill export --resource ecs-1"), code: 3},
		{name: "out is a directory", args: a("bill export --out " + tmp), code: 1, err: []string{"is a directory"}},

		{name: "usage of everything", args: a("--as Org2/User1 usage export"), out: []string{
			"id,resource,resource_type,provider,consumer,metric,quantity,start,end,adjusts,reason\n",
			"u-1,ecs-1,ecs,Org1MSP,Org2MSP,egress_gib,3,2026-01-01T00:00:00Z,2026-01-01T10:00:00Z,,\n",
			"u-3,ecs-2,ecs,Org1MSP,Org2MSP,egress_gib,1,"}},
		{name: "usage filtered", args: a("--as Org1/Agent1 usage export ecs-1 --format jsonl --from 2026-01-01T15:00:00Z"), out: []string{
			`{"id":"u-2","resource":"ecs-1","resource_type":"ecs","provider":"Org1MSP","consumer":"Org2MSP","metric":"egress_gib","quantity":2,"start":"2026-01-01T10:00:00Z","end":"2026-01-01T20:00:00Z","adjusts":"","reason":""}` + "\n"}},
		{name: "usage of a third org", args: a("--as Org3/Admin usage export ecs-1"), code: 3},
		{name: "usage role with resources", args: a("usage export ecs-1 --role provider"), code: 1, err: []string{"--role picks resources when none is named"}},
	})
	// The file holds exactly the last export (replaced, not appended), and
	// no temporary file is left beside it.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rows := checkExport(t, "csv", billColumns, b)
	if len(rows) != 1 || rows[0][0] != "ecs-2:000001" {
		t.Fatalf("the file holds %v", rows)
	}
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("a temporary file was left: %s", e.Name())
		}
	}
	// --role applies to a resource's bills too: Org1 is ecs-1's provider (its bill and the adjustment).
	for role, want := range map[string]int{"consumer": 0, "provider": 2} {
		r := fedmeter(dir, "", "--as", "Org1/Admin", "bill", "export", "--resource", "ecs-1", "--role", role)
		if rows := checkExport(t, "csv", billColumns, []byte(r.out)); r.code != 0 || len(rows) != want {
			t.Fatalf("--resource ecs-1 --role %s: exit %d, %d rows, want %d", role, r.code, len(rows), want)
		}
	}
	// Several pages (the export asks for 500 at a time): 1,200 more records
	// of ecs-2, after its bill, each exported once.
	var many strings.Builder
	many.WriteString("resource,metric,quantity,start,end\n")
	for i := 0; i < 1200; i++ {
		start := 1767304800 + int64(i)*6 // from 2026-01-01T22:00:00Z
		fmt.Fprintf(&many, "ecs-2,cpu_seconds,%d,%d,%d\n", i+1, start, start+6)
	}
	if r := fedmeter(dir, many.String(), "--at", "2026-01-02T03:00:00Z", "--as", "Org1/Agent1", "usage", "submit", "-"); r.code != 0 {
		t.Fatalf("usage submit: %s%s", r.out, r.errOut)
	}
	r0 := fedmeter(dir, "", "--as", "Org2/User1", "usage", "export", "ecs-2", "--format", "jsonl")
	seen, sumQ := map[string]bool{}, int64(0)
	for _, row := range checkExport(t, "jsonl", usageColumns, []byte(r0.out)) {
		if seen[row[0]] {
			t.Fatalf("record %s exported twice", row[0])
		}
		seen[row[0]] = true
		if row[5] == "cpu_seconds" {
			var q int64
			json.Unmarshal([]byte(row[6]), &q)
			sumQ += q
		}
	}
	if r0.code != 0 || len(seen) != 1201 || sumQ != 1200*1201/2 {
		t.Fatalf("usage export of ecs-2: exit %d, %d records, cpu_seconds %d; want 1201 records (u-3 and 1,200 more) and %d", r0.code, len(seen), sumQ, 1200*1201/2)
	}
	// Everything the consumer exports, a row per bill, sums to its total.
	r := fedmeter(dir, "", "--as", "Org2/User1", "bill", "export", "--format", "jsonl")
	sum := int64(0)
	for _, row := range checkExport(t, "jsonl", billColumns, []byte(r.out)) {
		var n int64
		json.Unmarshal([]byte(row[12]), &n)
		sum += n
	}
	tot := fedmeter(dir, "", "--as", "Org2/User1", "-o", "json", "bill", "total")
	var totals struct {
		Payable []struct {
			Amount int64 `json:"amount"`
		} `json:"payable"`
	}
	if err := json.Unmarshal([]byte(tot.out), &totals); err != nil || len(totals.Payable) != 1 || totals.Payable[0].Amount != sum || sum == 0 {
		t.Fatalf("export sums to %d, bill total says %s", sum, tot.out)
	}
}
