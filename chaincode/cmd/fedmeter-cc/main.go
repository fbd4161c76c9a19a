// Command fedmeter-cc runs the fedmeter contract.
//
// With CHAINCODE_SERVER_ADDRESS and CHAINCODE_ID set it runs as a chaincode
// service (Fabric's "chaincode as a service": the peer connects to it, no
// Docker build). TLS is on when CHAINCODE_TLS_KEY and CHAINCODE_TLS_CERT name
// PEM files (CHAINCODE_CLIENT_CA_CERT, if set, makes the server verify the
// peer's client certificate), and off when they are unset or
// CHAINCODE_TLS_DISABLED=true. Otherwise it starts the classic way, dialing
// the peer named by the CORE_* variables the peer sets (shim.Start).
//
// FEDMETER_RULE_CACHE, if set, names a directory where the service keeps
// the rules it has run (their modules and compiled code,
// chaincode.NewWasmPricer), so that after a restart it neither reads them
// from the peer again nor compiles them again. Bills do not depend on it.
//
// FEDMETER_METRICS_ADDRESS, if set (host:port), serves Prometheus metrics
// of the rule calls this service ran at /metrics there: calls by rule and
// outcome (fedmeter_rule_calls_total), gas used and call time as histograms
// (fedmeter_rule_gas_used, fedmeter_rule_call_seconds), and the Go runtime's.
//
// FEDMETER_PPROF_ADDRESS, if set (host:port), serves Go's net/http/pprof
// there: for profiling the service under load (network.sh sets it with
// FEDMETER_PPROF=1). Keep it on a loopback address.
package main

import (
	"fmt"
	"log"
	"net/http"
	_ "net/http/pprof" // served only with FEDMETER_PPROF_ADDRESS
	"os"
	"strconv"

	"github.com/fedmeter/fedmeter/chaincode"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

func main() {
	var opts []chaincode.Option
	if dir := os.Getenv("FEDMETER_RULE_CACHE"); dir != "" {
		opts = append(opts, chaincode.WithPricer(chaincode.NewWasmPricer(dir)))
		log.Printf("fedmeter-cc: keeping rules in %s", dir)
	}
	if addr := os.Getenv("FEDMETER_METRICS_ADDRESS"); addr != "" {
		m := newRuleMetrics()
		opts = append(opts, chaincode.WithRuleObserver(m.observe))
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.handler())
		go func() {
			log.Printf("fedmeter-cc: metrics on %s/metrics", addr)
			if err := http.ListenAndServe(addr, mux); err != nil {
				log.Printf("fedmeter-cc: metrics on %s: %v", addr, err)
			}
		}()
	}
	if addr := os.Getenv("FEDMETER_PPROF_ADDRESS"); addr != "" {
		go func() {
			log.Printf("fedmeter-cc: pprof on %s", addr)
			if err := http.ListenAndServe(addr, nil); err != nil {
				log.Printf("fedmeter-cc: pprof on %s: %v", addr, err)
			}
		}()
	}
	cc, err := chaincode.NewChaincode(opts...)
	if err != nil {
		log.Fatalf("fedmeter-cc: building the chaincode failed: %v", err)
	}
	addr, id := os.Getenv("CHAINCODE_SERVER_ADDRESS"), os.Getenv("CHAINCODE_ID")
	if addr == "" || id == "" {
		if addr != "" || id != "" {
			log.Printf("fedmeter-cc: only one of CHAINCODE_SERVER_ADDRESS and CHAINCODE_ID is set; starting the classic way")
		}
		if err := shim.Start(cc); err != nil {
			log.Fatalf("fedmeter-cc: %v", err)
		}
		return
	}
	tls, err := tlsProps()
	if err != nil {
		log.Fatalf("fedmeter-cc: %v", err)
	}
	server := &shim.ChaincodeServer{CCID: id, Address: addr, CC: cc, TLSProps: tls}
	log.Printf("fedmeter-cc: serving chaincode %s on %s (TLS %v)", id, addr, !tls.Disabled)
	if err := server.Start(); err != nil {
		log.Fatalf("fedmeter-cc: %v", err)
	}
}

func tlsProps() (shim.TLSProperties, error) {
	disabled, _ := strconv.ParseBool(os.Getenv("CHAINCODE_TLS_DISABLED"))
	keyFile, certFile := os.Getenv("CHAINCODE_TLS_KEY"), os.Getenv("CHAINCODE_TLS_CERT")
	if disabled || (keyFile == "" && certFile == "") {
		return shim.TLSProperties{Disabled: true}, nil
	}
	if keyFile == "" || certFile == "" {
		return shim.TLSProperties{}, fmt.Errorf("CHAINCODE_TLS_KEY and CHAINCODE_TLS_CERT must be set together")
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return shim.TLSProperties{}, fmt.Errorf("reading CHAINCODE_TLS_KEY: %v", err)
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return shim.TLSProperties{}, fmt.Errorf("reading CHAINCODE_TLS_CERT: %v", err)
	}
	props := shim.TLSProperties{Key: key, Cert: cert}
	if ca := os.Getenv("CHAINCODE_CLIENT_CA_CERT"); ca != "" {
		if props.ClientCACerts, err = os.ReadFile(ca); err != nil {
			return shim.TLSProperties{}, fmt.Errorf("reading CHAINCODE_CLIENT_CA_CERT: %v", err)
		}
	}
	return props, nil
}
