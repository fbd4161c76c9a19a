# fedmeter — see README.md. Every target installs what it needs through the Go
# module proxy; none needs a tool a fresh machine lacks, except `fixtures`
# (wat2wasm, from Debian's wabt package), whose output is committed.

GO        ?= go
BUILD     ?= build
RULES_OUT ?= $(BUILD)/rules
BIN       ?= bin
BENCHTIME ?= 1s
# The rule SDK is a nested module (github.com/fedmeter/fedmeter/sdk-rules, the
# standard library only), so ./... from the root does not reach it: each target
# that should cover it runs the go command there too.
SDK       ?= sdk-rules

.PHONY: all build test vet fmt-check bench rules demo fixtures fuzz clean

all: build

# Everything compiles; the fedmeter command goes to $(BIN)/fedmeter.
build:
	$(GO) build ./...
	cd $(SDK) && $(GO) build ./...
	$(GO) build -o $(BIN)/fedmeter ./cli/cmd/fedmeter

vet:
	$(GO) vet ./...
	cd $(SDK) && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The README's test command. Tests build the Wasm rules they need themselves.
test: fmt-check vet
	$(GO) test -count=1 ./...
	cd $(SDK) && $(GO) test -count=1 ./...

# Speed goals live here, never in timed tests. Numbers: docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./host/... ./chaincode/... ./network/embedded/... ./rules/ecs/ ./rules/ruletest/ ./cli/internal/agent/
	cd $(SDK) && $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./cli/usageimport/
	$(GO) test -run '^$$' -bench UsageImportVsSubmit -benchtime 15x ./cli/internal/app/

# The standard rules, built reproducibly (-trimpath, no build ID, no VCS stamp)
# into $(RULES_OUT), which is not committed; prints each module's SHA-256.
# -check builds every Go rule twice and fails unless the bytes match.
RULE_DIRS ?= rules/ecs rules/storage rules/bandwidth rules/gpu rules/wat-flat
rules:
	$(GO) run ./rules/cmd/buildrules -check -out $(RULES_OUT) $(RULE_DIRS)

# The main job on a fresh machine: build the command and the rules, then play
# the seed's story through the command on a fresh embedded ledger (cli/demo.sh).
# DEMO_KEEP=1 keeps the ledger; DEMO_DIR=dir puts it there.
demo: rules
	$(GO) build -o $(BIN)/fedmeter ./cli/cmd/fedmeter
	FEDMETER=$(BIN)/fedmeter RULES_OUT=$(RULES_OUT) ./cli/demo.sh

# Short fuzz runs of every parser of untrusted bytes.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzPrepare -fuzztime 60s ./host/
	$(GO) test -run '^$$' -fuzz FuzzEngines -fuzztime 60s ./host/
	$(GO) test -run '^$$' -fuzz FuzzDecodeOutput -fuzztime 30s ./host/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDecimal$$' -fuzztime 20s ./cli/internal/agent/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePromText$$' -fuzztime 20s ./cli/internal/agent/
	$(GO) test -run '^$$' -fuzz '^FuzzParseLine$$' -fuzztime 20s ./cli/internal/agent/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFast$$' -fuzztime 20s ./cli/internal/agent/
	cd $(SDK) && $(GO) test -run '^$$' -fuzz FuzzDecodeInput -fuzztime 60s ./rule/
	cd $(SDK) && $(GO) test -run '^$$' -fuzz FuzzMulDiv -fuzztime 30s ./money/
	$(GO) test -run '^$$' -fuzz FuzzDecodeBlock -fuzztime 30s ./network/embedded/
	$(GO) test -run '^$$' -fuzz FuzzArgs -fuzztime 30s ./chaincode/
	$(GO) test -run '^$$' -fuzz FuzzUsageArg -fuzztime 30s ./chaincode/
	$(GO) test -run '^$$' -fuzz FuzzDecodeBillIndex -fuzztime 20s ./chaincode/
	$(GO) test -run '^$$' -fuzz '^FuzzBillBookmark$$' -fuzztime 20s ./chaincode/
	$(GO) test -run '^$$' -fuzz FuzzReadUsage -fuzztime 30s ./cli/client/
	$(GO) test -run '^$$' -fuzz FuzzParseEventPos -fuzztime 20s ./cli/client/
	$(GO) test -run '^$$' -fuzz FuzzVerifySignature -fuzztime 20s ./cli/internal/serve/
	$(GO) test -run '^$$' -fuzz FuzzDayOrTime -fuzztime 20s ./cli/internal/serve/
	$(GO) test -run '^$$' -fuzz FuzzParseAmount -fuzztime 20s ./cli/internal/app/
	$(GO) test -run '^$$' -fuzz '^FuzzParseAPEL$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/
	$(GO) test -run '^$$' -fuzz '^FuzzParseAPELAccelerator$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/
	$(GO) test -run '^$$' -fuzz '^FuzzParseAPELIP$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/
	$(GO) test -run '^$$' -fuzz '^FuzzParseStAR$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/
	$(GO) test -run '^$$' -fuzz '^FuzzParseOGFUR$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/
	$(GO) test -run '^$$' -fuzz '^FuzzParseCloudEvents$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/
	$(GO) test -run '^$$' -fuzz '^FuzzMapping$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/
	$(GO) test -run '^$$' -fuzz '^FuzzFastQuantity$$' -fuzztime 20s -fuzzminimizetime 2s ./cli/usageimport/

# Regenerate every committed .wasm from its .wat source (CI never needs this:
# the .wasm files are committed). Needs wat2wasm: apt-get install wabt.
fixtures:
	@command -v wat2wasm >/dev/null || { echo "wat2wasm missing: apt-get install wabt"; exit 1; }
	cd host/testdata/hostile && for f in *.wat; do \
		wat2wasm --enable-all --no-check "$$f" -o "$${f%.wat}.wasm" || exit 1; done && $(GO) run gen.go
	cd host/testdata/bench && for f in *.wat; do wat2wasm "$$f" -o "$${f%.wat}.wasm" || exit 1; done
	cd host/internal/instrument/testdata && for f in *.wat; do wat2wasm --enable-all "$$f" -o "$${f%.wat}.wasm" || exit 1; done
	cd host/internal/wasi/testdata && for f in *.wat; do wat2wasm "$$f" -o "$${f%.wat}.wasm" || exit 1; done
	cd chaincode/testdata && for f in *.wat; do wat2wasm "$$f" -o "$${f%.wat}.wasm" || exit 1; done
	$(GO) generate ./rules/wat-flat
	$(GO) test -run TestPreparedGolden ./host/ || echo "prepared hashes changed: review, bump host.ProfileV1.Version, then go test ./host -run TestPreparedGolden -update"

clean:
	rm -rf $(BUILD)

# The seed topology on real Fabric nodes, as native processes (no Docker):
# network/fabric/README.md. Needs Fabric's release binaries on PATH or in
# FABRIC_BIN. State lives in $FEDMETER_NET_DIR (default ~/.fedmeter/fabric).
.PHONY: network-up network-down network-status network-test
network-up:
	./network/fabric/network.sh up

network-down:
	./network/fabric/network.sh down

network-status:
	./network/fabric/network.sh status

# Brings up its own network (~/.fedmeter/fabric-it, ports +10000), plays the
# story on it and tears it down; skips when Fabric's binaries are absent. The
# trailing down also cleans up after a test binary killed by its timeout.
network-test:
	FEDMETER_FABRIC_IT=1 $(GO) test -count=1 -timeout 20m -run TestFabricNetwork -v ./network/fabric/; rc=$$?; \
	[ -n "$$FEDMETER_IT_KEEP" ] || FEDMETER_NET_DIR=$${FEDMETER_IT_NET_DIR:-$$HOME/.fedmeter/fabric-it} \
		./network/fabric/network.sh down >/dev/null 2>&1 || true; exit $$rc
