// Package contract is the trivial Put/Get contract that fedmeter's own
// transactions are measured against: deployed on Fabric by
// network/fabric/putget (a chaincode service) and run on a temporary
// embedded ledger by fmbench's openBaseline (network/fmbench), so both
// baselines are the same code. PutMany (count keys in one transaction) measures the cost of
// each key a transaction writes; Footprint replays another transaction's
// reads, scan, writes, event and result without its logic, to tell what a
// transaction's ledger footprint costs from what its code costs.
package contract

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// PutGet stores and reads plain values.
type PutGet struct {
	contractapi.Contract
}

// Put stores value under key.
func (PutGet) Put(ctx contractapi.TransactionContextInterface, key, value string) error {
	if key == "" {
		return fmt.Errorf("empty key")
	}
	return ctx.GetStub().PutState(key, []byte(value))
}

// PutMany writes count keys prefix/0 .. prefix/<count-1>, each a value of
// size bytes, sent to the peer in one write batch. It measures the peer's
// cost per key written (docs/benchmarks.md, "Fabric"), apart from
// any contract logic.
func (PutGet) PutMany(ctx contractapi.TransactionContextInterface, prefix string, count, size int) error {
	if prefix == "" || count < 1 || count > 100000 || size < 0 || size > 1<<20 {
		return fmt.Errorf("PutMany needs a prefix, 1 to 100000 keys and 0 to 1 MiB per value")
	}
	stub := ctx.GetStub()
	stub.StartWriteBatch()
	value := []byte(strings.Repeat("v", size))
	for i := 0; i < count; i++ {
		if err := stub.PutState(prefix+"/"+strconv.Itoa(i), value); err != nil {
			return err
		}
	}
	return stub.FinishWriteBatch()
}

// Footprint reads the comma-separated keys in reads (one GetMultipleStates),
// scans the range [scan+"/", scan+"0") when scan is not empty, writes one key
// prefix/w<i> per comma-separated size in writes (one write batch), sets an
// event of event bytes and returns result bytes. Given the keys, sizes and
// scan of one of fedmeter's transactions, it costs the network what that
// transaction's footprint costs, apart from its contract code and rule
// (docs/benchmarks.md, "Fabric").
func (PutGet) Footprint(ctx contractapi.TransactionContextInterface, prefix, reads, scan, writes string, event, result int) (string, error) {
	if prefix == "" || event < 0 || event > 1<<20 || result < 0 || result > 1<<20 {
		return "", fmt.Errorf("Footprint needs a prefix and event and result sizes of 0 to 1 MiB")
	}
	stub := ctx.GetStub()
	if reads != "" {
		if _, err := stub.GetMultipleStates(strings.Split(reads, ",")...); err != nil {
			return "", err
		}
	}
	if scan != "" {
		it, err := stub.GetStateByRange(scan+"/", scan+"0")
		if err != nil {
			return "", err
		}
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				it.Close()
				return "", err
			}
		}
		it.Close()
	}
	if writes != "" {
		stub.StartWriteBatch()
		for i, f := range strings.Split(writes, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n > 1<<20 {
				return "", fmt.Errorf("write %d: size %q is not 0 to 1 MiB", i, f)
			}
			if err := stub.PutState(prefix+"/w"+strconv.Itoa(i), []byte(strings.Repeat("v", n))); err != nil {
				return "", err
			}
		}
		if err := stub.FinishWriteBatch(); err != nil {
			return "", err
		}
	}
	if event > 0 {
		if err := stub.SetEvent("Footprint", []byte(strings.Repeat("e", event))); err != nil {
			return "", err
		}
	}
	return strings.Repeat("r", result), nil
}

// Get returns the value stored under key, or an error when there is none.
func (PutGet) Get(ctx contractapi.TransactionContextInterface, key string) (string, error) {
	v, err := ctx.GetStub().GetState(key)
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", fmt.Errorf("no value for key %q", key)
	}
	return string(v), nil
}
