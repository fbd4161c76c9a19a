package app

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedmeter/fedmeter/cli/client"
)

// TestStatementCommands plays settlement through the command: a bill in
// January, a statement for the month, its exports, a credit note that goes
// to February's statement, a dispute, and payments to paid; and the
// refusals of the identities that may not act.
func TestStatementCommands(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "ledger")
	at := func(t string, rest string) []string { return append([]string{"--at", t}, a(rest)...) }
	const (
		T0  = "2026-01-01T00:00:00Z"
		T1  = "2026-01-02T00:00:00Z"
		FEB = "2026-02-02T00:00:00Z"
		MAR = "2026-03-02T00:00:00Z"
	)
	htmlOut := filepath.Join(tmp, "st.html")
	play(t, dir, nil, []step{
		{name: "init", args: at("2025-12-31T22:00:00Z", "init")},
		{name: "price", args: at(T0, "--as Org1/Admin price set ecs --currency CNY --scale 2 vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5 egress_gib=80")},
		{name: "quota", args: at(T0, "--as Org1/Admin quota set Org2MSP max_days=365 vcpu=16 memory_gib=64 system_disk_gib=100 public_ips=2")},
		{name: "upload", args: at(T0, "--as Org1/Admin rule upload "+wasm("ecs_hourly.wasm")+" --name ecs --version 1.0.0 --types ecs")},
		{name: "vote 1", args: at(T0, "--as Org1/Admin rule vote approve ecs@1.0.0")},
		{name: "vote 2", args: at(T0, "--as Org2/Admin rule vote approve ecs@1.0.0")},
		{name: "activate rule", args: at(T0, "--as Org1/Admin rule activate ecs ecs@1.0.0")},
		{name: "request", args: at(T0, "--as Org2/User1 resource request --id ecs-1 --provider Org1MSP --type ecs --days 30 --spec vcpu=2,memory_gib=4,system_disk_gib=40,public_ips=1")},
		{name: "provision", args: at(T0, "--as Org1/Agent1 resource activate ecs-1")},
		{name: "release", args: at(T1, "--as Org2/User1 resource release ecs-1"), out: []string{"ecs-1:000001"}},

		{name: "no period", args: at(FEB, "--as Org1/Admin statement issue Org2MSP --currency CNY"), code: 1, err: []string{"needs a period"}},
		{name: "bad month", args: at(FEB, "--as Org1/Admin statement issue Org2MSP --currency CNY --month 2026-13"), code: 1, err: []string{`--month "2026-13" is not a month`}},
		{name: "no currency", args: at(FEB, "--as Org1/Admin statement issue Org2MSP --month 2026-01"), code: 1, err: []string{"--currency is required"}},
		{name: "not an admin", args: at(FEB, "--as Org1/User1 statement issue Org2MSP --currency CNY --month 2026-01"), code: 3, err: []string{"only admins of member orgs may issue statements"}},
		{name: "month not over", args: at("2026-01-20T00:00:00Z", "--as Org1/Admin statement issue Org2MSP --currency CNY --month 2026-01"), code: 1, err: []string{"is in the future"}},
		{name: "issue", args: at(FEB, "--as Org1/Admin statement issue Org2MSP --currency CNY --month 2026-01"),
			out: []string{"Issued statement st-Org2MSP-CNY-2026-01 to Org2MSP: 1 bill,", "status       open"}},
		{name: "issue again", args: at(FEB, "--as Org1/Admin statement issue Org2MSP --currency CNY --month 2026-01 --id st-2"), code: 1, err: []string{"on no statement yet"}},
		{name: "show", args: a("--as Org2/User1 statement show st-Org2MSP-CNY-2026-01"), out: []string{"ecs-1:000001", "release", "as the statement records"}},
		{name: "show json", args: a("--as Org2/User1 -o json statement show st-Org2MSP-CNY-2026-01"), json: true, out: []string{`"bills_hash"`, `"id": "ecs-1:000001"`}},
		{name: "show by a third org", args: a("--as Org3/Admin statement show st-Org2MSP-CNY-2026-01"), code: 3, err: []string{"may read statement"}},
		{name: "export csv", args: a("--as Org2/User1 statement export st-Org2MSP-CNY-2026-01"), out: []string{"statement_id,provider,consumer,bill_id", "st-Org2MSP-CNY-2026-01,Org1MSP,Org2MSP,ecs-1:000001,release"}},
		{name: "export html", args: a("--as Org2/User1 statement export st-Org2MSP-CNY-2026-01 --format html --out " + htmlOut), err: []string{"Wrote statement st-Org2MSP-CNY-2026-01 (1 bill,"}},
		{name: "export pdf", args: a("--as Org2/User1 statement export st-Org2MSP-CNY-2026-01 --format pdf"), code: 1, err: []string{`--format "pdf" is not valid`}},

		{name: "credit by the consumer", args: at(FEB, "--as Org2/Admin bill credit ecs-1:000001 --amount 1 --reason x"), code: 3, err: []string{"disputes a statement instead"}},
		{name: "credit too precise", args: at(FEB, "--as Org1/Admin bill credit ecs-1:000001 --amount 1.005 --reason x"), code: 1, err: []string{"scale allows 2"}},
		{name: "credit no reason", args: at(FEB, "--as Org1/Admin bill credit ecs-1:000001 --amount 1"), code: 1, err: []string{"--amount and --reason are required"}},
		{name: "credit", args: at(FEB, "--as Org1/Admin bill credit ecs-1:000001 --amount 1.50 --reason outage"), out: []string{"Issued credit note ecs-1:000002: -1.50 CNY on bill ecs-1:000001 (outage)"}},
		{name: "credit shown", args: a("--as Org2/User1 bill show ecs-1:000002"), out: []string{"Bill ecs-1:000002 (credit): -1.50 CNY", "adjusts   ecs-1:000001", "reason    outage"}},
		{name: "credit listed", args: a("--as Org1/User1 bill list --resource ecs-1"), out: []string{"-1.50 CNY  credit of ecs-1:000001"}},
		{name: "credit verified", args: a("--as Org2/User1 bill verify ecs-1:000002"), out: []string{"Checked credit note ecs-1:000002 against bill ecs-1:000001", "credits a bill of its pair", "Credit note ecs-1:000002 verified: -1.50 CNY on bill ecs-1:000001", "chains to head"}},
		{name: "credit too much", args: at(FEB, "--as Org1/Admin bill credit ecs-1:000001 --amount 1000 --reason x"), code: 1, err: []string{"more than bill ecs-1:000001 amounts to"}},
		{name: "february", args: at(MAR, "--as Org1/Admin statement issue Org2MSP --currency CNY --month 2026-02 --id st-feb"), out: []string{"1 bill, -1.50 CNY", "credits      -1.50 CNY"}},

		{name: "dispute by the provider", args: at(MAR, "--as Org1/Admin statement dispute st-Org2MSP-CNY-2026-01 --reason x"), code: 3, err: []string{"the consumer of statement"}},
		{name: "dispute without reason", args: at(MAR, "--as Org2/Admin statement dispute st-Org2MSP-CNY-2026-01"), code: 1, err: []string{"--reason is required"}},
		{name: "dispute", args: at(MAR, "--as Org2/Admin statement dispute st-Org2MSP-CNY-2026-01 --reason the_outage"), out: []string{"disputed statement st-Org2MSP-CNY-2026-01: the_outage"}},
		{name: "acknowledge", args: at(MAR, "--as Org2/Admin statement acknowledge st-Org2MSP-CNY-2026-01"), out: []string{"it is acknowledged"}},
		{name: "pay bad amount", args: at(MAR, "--as Org2/Admin statement pay st-Org2MSP-CNY-2026-01 --reference w1 --amount 1,5"), code: 1, err: []string{"is not an amount"}},
		{name: "pay part", args: at(MAR, "--as Org2/Admin statement pay st-Org2MSP-CNY-2026-01 --reference w1 --amount 10 --date 2026-03-01"), out: []string{"payment w1 of 10.00 CNY"}},
		{name: "pay rest", args: at(MAR, "--as Org1/Admin statement pay st-Org2MSP-CNY-2026-01 --reference w2 --amount outstanding"), out: []string{"Outstanding: 0.00 CNY"}},
		{name: "confirm by the consumer", args: at(MAR, "--as Org2/Admin statement confirm st-Org2MSP-CNY-2026-01 w1"), code: 3, err: []string{"the payee"}},
		{name: "confirm 1", args: at(MAR, "--as Org1/Admin statement confirm st-Org2MSP-CNY-2026-01 w1"), out: []string{"the statement is acknowledged"}},
		{name: "confirm 2", args: at(MAR, "--as Org1/Admin statement confirm st-Org2MSP-CNY-2026-01 w2"), out: []string{"the statement is paid"}},
		{name: "void by the consumer", args: at(MAR, "--as Org2/Admin statement void st-feb --reason x"), code: 3, err: []string{"the provider of statement st-feb"}},
		{name: "void paid", args: at(MAR, "--as Org1/Admin statement void st-Org2MSP-CNY-2026-01 --reason x"), code: 1, err: []string{"is paid"}},
		{name: "void", args: at(MAR, "--as Org1/Admin statement void st-feb --reason wrong_month"), out: []string{"Org1MSP voided statement st-feb (1 bill)"}},
		{name: "void shown", args: a("--as Org2/User1 statement show st-feb"), out: []string{"status       void", "voided", "wrong_month"}},
		{name: "reissued", args: at(MAR, "--as Org1/Admin statement issue Org2MSP --currency CNY --month 2026-02 --id st-feb-2"), out: []string{"1 bill, -1.50 CNY"}},
		{name: "list paid", args: a("--as Org2/User1 statement list --status paid"), out: []string{"st-Org2MSP-CNY-2026-01", "paid"}},
		{name: "list as provider", args: a("--as Org1/User1 statement list --role provider"), out: []string{"st-Org2MSP-CNY-2026-01", "st-feb ", "void", "st-feb-2", "open"}},
		{name: "list bad role", args: a("--as Org1/User1 statement list --role payee"), code: 1, err: []string{`role "payee" is not valid`}},
	})
	page, err := os.ReadFile(htmlOut)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<title>Statement st-Org2MSP-CNY-2026-01</title>", `<td class="mono">ecs-1:000001</td>`, "Bills hash"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the HTML export lacks %q", want)
		}
	}
}

// TestStatementExports holds the CSV to one parseable row per bill, a
// reason that would be a spreadsheet formula defused, and the HTML page to
// escape what the other org wrote.
func TestStatementExports(t *testing.T) {
	s := &statementFixture
	var b strings.Builder
	if err := writeStatementCSV(&b, s, statementBills); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(rows) != 3 || len(rows[0]) != len(statementCSVHeader) {
		t.Fatalf("CSV rows %q", rows)
	}
	credit := rows[2]
	if credit[3] != "r1:000002" || credit[4] != "credit" || credit[5] != "r1:000001" || credit[13] != "-150" || credit[14] != "-1.50" || credit[15] != "'=HYPERLINK(\"x\")" || credit[10] != "no" {
		t.Errorf("credit row %q", credit)
	}
	if rows[1][10] != "yes" {
		t.Errorf("the late bill's row %q: want late yes", rows[1])
	}
	b.Reset()
	if err := writeStatementHTML(&b, s, statementBills); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || !strings.Contains(b.String(), "&lt;script&gt;") {
		t.Errorf("the HTML page does not escape the dispute's reason")
	}
}

var statementFixture = client.Statement{ID: "st", Provider: "Org1MSP", Consumer: "Org2MSP", Currency: "CNY", Scale: 2,
	Period: client.Period{Start: 100, End: 200}, Bills: 2, Total: 850, Charges: 1000, Credits: -150,
	Dispute: &client.StatementAct{Reason: "<script>alert(1)</script>"}}

var statementBills = []client.Bill{
	{ID: "r1:000001", Kind: "release", Resource: "r1", ResourceType: "ecs", Period: client.Period{Start: 10, End: 50}, Amount: 1000, Currency: "CNY", Scale: 2},
	{ID: "r1:000002", Kind: "credit", Adjusts: "r1:000001", Resource: "r1", ResourceType: "ecs", Period: client.Period{Start: 150, End: 150}, Amount: -150, Currency: "CNY", Scale: 2, Reason: `=HYPERLINK("x")`},
}
