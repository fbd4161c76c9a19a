#!/usr/bin/env bash
# bench.sh: fedmeter's transactions against the trivial Put/Get contract on
# the running seed network, in one run (`fmbench --compare`, network/fmbench),
# as Org1 (provider, through its peer0's gateway, on channelall) with Org2 and
# Org3 as consumers. Prints the steps, the ratios to Put/Get and the figures
# at capacity.
#
#   FEDMETER_CHAINCODES="fedmeter putget" make network-up   # both contracts
#   network/fabric/bench.sh                                # default loads
#   network/fabric/bench.sh --goal release=0.7 --goal usage=50   # judged (network/fmbench/README.md)
#   network/fabric/bench.sh --inflight 1,32,128 --duration 10s -o json > run.json
#
# Arguments are passed to `fmbench --compare` (after the defaults, so they
# win). Once per network it creates the consortium (Org1..3, majority)
# if there is none; the bench itself publishes prices and quotas, uploads
# and approves the standard ECS rule (built by `make rules`) and prepares
# the resources, untimed. Environment:
#   FEDMETER_NET_DIR   the network's state folder (default ~/.fedmeter/fabric)
#   FEDMETER           the fedmeter command (default: built into bin/)
#   FMBENCH            the fmbench command (default: built into bin/)
#   RULE               the rule to activate for ecs (default build/rules/ecs.wasm)
# Notes: the setup leaves resources, usage and bills on the ledger (use a
# network made for benchmarks); resource requests update the consumer's
# quota, so they go one transaction at a time per consumer, 100 resources
# each (ResourceRequestMany): ~3,200 resources for a release step at 128 in
# flight take ~40 s; usage sets up one group of 250 resources per batch in
# flight (8,000 at 32, 32,000 at 128; --usage-resources N for fewer).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
NET=${FEDMETER_NET_DIR:-$HOME/.fedmeter/fabric}
PROFILES=$NET/profiles
RULE=${RULE:-$REPO/build/rules/ecs.wasm}

die() { printf 'bench.sh: %s\n' "$*" >&2; exit 1; }

[ -f "$PROFILES/org1-admin.yaml" ] || die "no network in $NET (make network-up, with FEDMETER_CHAINCODES=\"fedmeter putget\")"
[ -d "$NET/cc/putget" ] || die "the network in $NET has no putget contract: network/fabric/network.sh deploy putget"
if [ -z "${FEDMETER:-}" ]; then
	(cd "$REPO" && go build -o bin/fedmeter ./cli/cmd/fedmeter)
	FEDMETER=$REPO/bin/fedmeter
fi
if [ -z "${FMBENCH:-}" ]; then
	(cd "$REPO" && go build -o bin/fmbench ./network/fmbench)
	FMBENCH=$REPO/bin/fmbench
fi
if [ ! -f "$RULE" ]; then
	(cd "$REPO" && make rules >/dev/null)
fi

fm() { "$FEDMETER" --profile "$PROFILES/$1.yaml" "${@:2}"; }

# The consortium, once: a fresh network has none.
if ! fm org1 member list >/dev/null 2>&1; then
	echo "bench.sh: creating the consortium (Org1MSP, Org2MSP, Org3MSP; majority)" >&2
	fm org1-admin init --org Org1 --org Org2 --org Org3 >/dev/null
fi

exec "$FMBENCH" --profile "$PROFILES/org1-admin.yaml" --compare \
	--consumer "$PROFILES/org2-admin.yaml" --consumer "$PROFILES/org3-admin.yaml" \
	--rule "$RULE" --netdir "$NET" \
	--inflight 1,32,128 --duration 10s --warmup 3s --batch 500 "$@"
