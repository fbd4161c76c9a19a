// Command putget is a trivial Put/Get contract run as a Fabric chaincode
// service. It is the baseline that fedmeter's own transactions are measured
// against on the same network (see network/fabric/README.md), and the contract
// network.sh deploys when the fedmeter chaincode is not built yet.
//
// The contract itself is package contract (Put and Get are the baseline;
// PutMany measures the cost of each key a transaction writes).
//
// It serves chaincode-as-a-service when CHAINCODE_SERVER_ADDRESS (host:port to
// listen on) and CHAINCODE_ID (the package ID the peer knows it by) are set.
package main

import (
	"log"
	"os"

	"github.com/fedmeter/fedmeter/network/fabric/putget/contract"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

func main() {
	cc, err := contractapi.NewChaincode(&contract.PutGet{})
	if err != nil {
		log.Fatalf("putget: %v", err)
	}
	addr, id := os.Getenv("CHAINCODE_SERVER_ADDRESS"), os.Getenv("CHAINCODE_ID")
	if addr == "" || id == "" {
		log.Fatal("putget: set CHAINCODE_SERVER_ADDRESS and CHAINCODE_ID to run as a chaincode service")
	}
	srv := &shim.ChaincodeServer{
		CCID:     id,
		Address:  addr,
		CC:       cc,
		TLSProps: shim.TLSProperties{Disabled: true}, // 127.0.0.1 only
	}
	if err := srv.Start(); err != nil {
		log.Fatalf("putget: %v", err)
	}
}
