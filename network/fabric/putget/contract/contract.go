// Package contract is the trivial Put/Get contract that fedmeter's own
// transactions are measured against: deployed on Fabric by
// network/fabric/putget (a chaincode service) and run on a temporary
// embedded ledger by cli/client's OpenBaseline, so both baselines are the
// same code. PutMany (count keys in one transaction) measures the cost of
// each key a transaction writes.
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
// cost per key written (network/fabric/README.md, section 7), apart from
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
