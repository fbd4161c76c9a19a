package chaincode

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/chaincode/model"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// seedCC is the contract's chaincode with two functions of the benchmark's
// own, which write state directly: benchSeedBills stores bills and their
// index entries as a rule's bills would be (without running the rule,
// which would make seeding 100,000 bills take minutes), and benchUnstate
// undoes a statement, so that the next iteration states the same bills.
type seedCC struct{ *Chaincode }

func (s seedCC) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	fn, args := stub.GetFunctionAndParameters()
	var err error
	switch fn {
	case "benchSeedBills":
		err = seedBills(stub, args)
	case "benchUnstate":
		err = unstate(stub, args[0], args[1], args[2])
	default:
		return s.Chaincode.Invoke(stub)
	}
	if err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success(nil)
}

// seedBills: provider, consumer, first, n, start, end: n bills numbered
// from first, with period ends spread over [start, end).
func seedBills(stub shim.ChaincodeStubInterface, args []string) error {
	first, _ := strconv.Atoi(args[2])
	n, _ := strconv.Atoi(args[3])
	start, _ := strconv.ParseInt(args[4], 10, 64)
	end, _ := strconv.ParseInt(args[5], 10, 64)
	for i := 0; i < n; i++ {
		res := fmt.Sprintf("b%07d", first+i)
		pe := start + int64(i)*(end-start)/int64(n)
		b := &Bill{ID: model.BillID(res, 1), Kind: model.BillKindRelease, Provider: args[0], Consumer: args[1],
			Resource: res, ResourceType: "ecs", Period: Period{Start: pe - 3600, End: pe},
			Amount: 1000 + int64(i%97), Currency: "CNY", Scale: 2,
			Lines: []BillLine{{Item: "vcpu", Quantity: 2, Unit: "hour", UnitPrice: 12, Amount: 1000 + int64(i%97)}},
			Tx:    stub.GetTxID(), IssuedAt: pe}
		bb, _ := json.Marshal(b)
		if err := stub.PutState(key(pfxBill, b.ID), bb); err != nil {
			return err
		}
		ib, _ := json.Marshal(billIndex{Currency: b.Currency, Scale: b.Scale, Amount: b.Amount})
		if err := stub.PutState(billIndexKey(b), ib); err != nil {
			return err
		}
	}
	return nil
}

// unstate deletes statement id of the pair and its bills' markers.
func unstate(stub shim.ChaincodeStubInterface, provider, consumer, id string) error {
	for _, pfx := range []string{key(pfxBillStated, provider, consumer) + "/", pfxStatementOrg} {
		it, err := stub.GetStateByRange(pfx, prefixEnd(pfx))
		if err != nil {
			return err
		}
		for it.HasNext() {
			kv, err := it.Next()
			if err != nil {
				return err
			}
			if string(kv.GetValue()) == id {
				if err := stub.DelState(kv.GetKey()); err != nil {
					return err
				}
			}
		}
		it.Close()
	}
	if err := stub.DelState(key(pfxStatementBills, id)); err != nil {
		return err
	}
	return stub.DelState(key(pfxStatement, id))
}

// BenchmarkStatementIssue is the time of one StatementIssue on the embedded
// ledger (fsync on, as a user's ledger has it) over a month of n bills of
// Org1 to Org2: the index range read, merged with the markers' range, and
// n markers, the bill list and the statement written and committed. Each
// iteration states the same bills (the statement is undone between
// iterations, untimed). It reports the median time and the fastest and
// slowest, and the median per bill. history=H first states H bills of the
// month before, which the statement's scan for late bills reads again.
//
//	go test -run '^$' -bench StatementIssue -benchtime 5x ./chaincode/
func BenchmarkStatementIssue(b *testing.B) {
	for _, c := range []struct{ n, history int }{{1000, 0}, {10000, 0}, {100000, 0}, {10000, 100000}} {
		name := fmt.Sprintf("bills=%d", c.n)
		if c.history > 0 {
			name += fmt.Sprintf("/history=%d", c.history)
		}
		b.Run(name, func(b *testing.B) { benchStatement(b, c.n, c.history) })
	}
}

func benchStatement(b *testing.B, n, history int) {
	cc, err := NewChaincode()
	if err != nil {
		b.Fatal(err)
	}
	e := newEmbeddedEnvCC(b, true, seedCC{cc})
	e.initConsortium()
	e.setTime(mar)
	seed := func(first, n int, from, to time.Time) {
		const chunk = 5000
		for i := 0; i < n; i += chunk {
			e.ok("org1.admin", "benchSeedBills", org1, org2, strconv.Itoa(first+i), strconv.Itoa(min(chunk, n-i)), unix(from), unix(to))
		}
	}
	if history > 0 {
		seed(0, history, jan, feb)
		e.ok("org1.admin", "StatementIssue", "st-jan", org2, "CNY", unix(jan), unix(feb))
	}
	seed(history, n, feb, mar)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		out := e.ok("org1.admin", "StatementIssue", "st-feb", org2, "CNY", unix(feb), unix(mar))
		lat = append(lat, time.Since(t0))
		b.StopTimer()
		if s := decode[Statement](b, out); s.Bills != n {
			b.Fatalf("the statement has %d bills, want %d", s.Bills, n)
		}
		e.ok("org1.admin", "benchUnstate", org1, org2, "st-feb")
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	med := lat[len(lat)/2]
	b.ReportMetric(float64(med.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(lat[0].Microseconds())/1000, "min-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(med.Nanoseconds())/float64(n), "ns/bill")
}
