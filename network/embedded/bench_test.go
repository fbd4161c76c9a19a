package embedded_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedmeter/fedmeter/network/embedded"
	"github.com/fedmeter/fedmeter/network/msp"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// benchContract is shaped like fedmeter's hot paths: a billing transaction
// (read the resource, write a bill and its composite index entry, emit an
// event) and a usage batch (decode 1,000 records, skip known IDs, store each
// record, update one aggregate per resource).
type benchContract struct {
	contractapi.Contract
}

type benchBill struct {
	BillID    string `json:"billId"`
	Provider  string `json:"provider"`
	Consumer  string `json:"consumer"`
	Resource  string `json:"resource"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	TxID      string `json:"txId"`
	Timestamp int64  `json:"ts"`
}

func (c *benchContract) Bill(ctx contractapi.TransactionContextInterface, billID, resource string, amount int64) error {
	stub := ctx.GetStub()
	if _, err := stub.GetState("resource~" + resource); err != nil {
		return err
	}
	mspID, err := ctx.GetClientIdentity().GetMSPID()
	if err != nil {
		return err
	}
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return err
	}
	b, err := json.Marshal(benchBill{BillID: billID, Provider: mspID, Consumer: "Org2MSP", Resource: resource,
		Amount: amount, Currency: "EUR", TxID: stub.GetTxID(), Timestamp: ts.Seconds})
	if err != nil {
		return err
	}
	if err := stub.PutState("bill~"+billID, b); err != nil {
		return err
	}
	idx, err := stub.CreateCompositeKey("bill", []string{mspID, "Org2MSP", billID})
	if err != nil {
		return err
	}
	if err := stub.PutState(idx, []byte{0}); err != nil {
		return err
	}
	return stub.SetEvent("BillCreated", []byte(billID))
}

type benchUsage struct {
	ID       string `json:"id"`
	Resource string `json:"resource"`
	Metric   string `json:"metric"`
	Quantity int64  `json:"qty"`
	From     int64  `json:"from"`
	To       int64  `json:"to"`
}

func (c *benchContract) RecordUsage(ctx contractapi.TransactionContextInterface, batch string) (int, error) {
	stub := ctx.GetStub()
	var recs []benchUsage
	if err := json.Unmarshal([]byte(batch), &recs); err != nil {
		return 0, err
	}
	totals := map[string]int64{}
	stored := 0
	for _, r := range recs {
		key, err := stub.CreateCompositeKey("usage", []string{r.Resource, r.ID})
		if err != nil {
			return 0, err
		}
		if v, err := stub.GetState(key); err != nil {
			return 0, err
		} else if v != nil {
			continue // resubmitted ID: a no-op, never a double charge
		}
		b, err := json.Marshal(r)
		if err != nil {
			return 0, err
		}
		if err := stub.PutState(key, b); err != nil {
			return 0, err
		}
		totals[r.Resource+"/"+r.Metric] += r.Quantity
		stored++
	}
	for k, q := range totals {
		agg := "agg~" + k
		old, err := stub.GetState(agg)
		if err != nil {
			return 0, err
		}
		n, _ := strconv.ParseInt(string(old), 10, 64)
		if err := stub.PutState(agg, []byte(strconv.FormatInt(n+q, 10))); err != nil {
			return 0, err
		}
	}
	return stored, nil
}

func openBench(b *testing.B, opts embedded.Options) (*embedded.Ledger, *msp.Identity) {
	b.Helper()
	cc, err := contractapi.NewChaincode(&benchContract{})
	if err != nil {
		b.Fatal(err)
	}
	ca, err := msp.NewCA("Org1MSP", "org1.example.com")
	if err != nil {
		b.Fatal(err)
	}
	id, err := ca.Issue(msp.UserSpec{Name: "agent1", Role: msp.RoleAgent})
	if err != nil {
		b.Fatal(err)
	}
	l, err := embedded.Open(b.TempDir(), cc, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l, id
}

// runClients submits b.N transactions from `clients` goroutines, each call
// built by next(i), and reports tx/s, p50 and p99 Submit latency.
func runClients(b *testing.B, l *embedded.Ledger, id *msp.Identity, clients int, fn string, next func(i int64) []string) float64 {
	b.Helper()
	var ctr atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := ctr.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				args := next(i)
				t0 := time.Now()
				if _, err := l.Submit(context.Background(), id, fn, args...); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return 0
	}
	tps := float64(len(all)) / elapsed.Seconds()
	b.ReportMetric(tps, "tx/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	return tps
}

// BenchmarkSubmitBilling: billing transactions, fsync on, with 1 client
// (pure latency), many clients (group commit), and many clients with group
// commit disabled (MaxBatch 1) for comparison.
func BenchmarkSubmitBilling(b *testing.B) {
	for _, c := range []struct {
		name     string
		clients  int
		maxBatch int
	}{
		{"clients=1", 1, 0},
		{"clients=64", 64, 0},
		{"clients=64/nogroup", 64, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			l, id := openBench(b, embedded.Options{MaxBatch: c.maxBatch})
			runClients(b, l, id, c.clients, "Bill", func(i int64) []string {
				return []string{"bill-" + strconv.FormatInt(i, 10), "vm-" + strconv.FormatInt(i%100, 10), strconv.FormatInt(i*7, 10)}
			})
		})
	}
}

// BenchmarkSubmitUsage: batches of 1,000 usage records per transaction,
// fsync on; reports records/s as well as tx/s.
func BenchmarkSubmitUsage(b *testing.B) {
	const perTx = 1000
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			l, id := openBench(b, embedded.Options{})
			// Pre-build the batches so JSON encoding on the client side is
			// not measured.
			batches := make([]string, b.N)
			for i := range batches {
				recs := make([]benchUsage, perTx)
				for j := range recs {
					recs[j] = benchUsage{ID: fmt.Sprintf("u-%08d-%04d", i, j), Resource: "vm-" + strconv.Itoa(j%50),
						Metric: "vcpu-seconds", Quantity: 3600, From: 1767225600, To: 1767229200}
				}
				enc, _ := json.Marshal(recs)
				batches[i] = string(enc)
			}
			tps := runClients(b, l, id, clients, "RecordUsage", func(i int64) []string { return []string{batches[i]} })
			b.ReportMetric(tps*perTx, "records/s")
		})
	}
}
