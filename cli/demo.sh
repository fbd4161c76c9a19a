#!/usr/bin/env bash
# The seed's story, played through the fedmeter command on a fresh embedded
# ledger: three research clouds, a price book and a quota, an ECS server
# requested and used, the ECS billing rule uploaded and approved by two of
# the three orgs, the server released, the bill computed on the ledger,
# listed, totalled and verified offline, the ledger verified, and January's
# statement issued, acknowledged and paid.
#
# `make demo` builds the command and the rules and runs this. By hand:
#   FEDMETER=bin/fedmeter RULES_OUT=build/rules cli/demo.sh
# Environment:
#   FEDMETER   the fedmeter binary (default: bin/fedmeter)
#   RULES_OUT  where `make rules` put the modules (default: build/rules)
#   DEMO_DIR   the ledger directory (default: a new temporary one, removed at
#              the end unless DEMO_KEEP=1); must not hold a ledger yet
# Exits non-zero as soon as a step fails.
set -Eeuo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FEDMETER=${FEDMETER:-$root/bin/fedmeter}
RULES_OUT=${RULES_OUT:-$root/build/rules}
ECS_WASM=$RULES_OUT/ecs.wasm

[[ -x $FEDMETER ]] || { echo "demo: $FEDMETER is missing; run make build (or make demo)" >&2; exit 1; }
[[ -f $ECS_WASM ]] || { echo "demo: $ECS_WASM is missing; run make rules (or make demo)" >&2; exit 1; }

keep=${DEMO_KEEP:-}
if [[ -z ${DEMO_DIR:-} ]]; then
	DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/fedmeter-demo.XXXXXX")
	[[ $keep == 1 ]] || trap 'rm -rf "$DEMO_DIR"' EXIT
else
	keep=1
	mkdir -p "$DEMO_DIR"
fi
abspath() { # $1 made absolute, so that it survives the cd below
	case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac
}
FEDMETER=$(abspath "$FEDMETER") ECS_WASM=$(abspath "$ECS_WASM") DEMO_DIR=$(abspath "$DEMO_DIR")
export FEDMETER_DATA=$DEMO_DIR/ledger
unset FEDMETER_PROFILE FEDMETER_AS FEDMETER_OUTPUT FEDMETER_AT
# Every command shown can be pasted as it is: they run from the repository's
# root (the paths of the rule and its vectors are relative to it), with the
# ledger named by FEDMETER_DATA (printed first), and each says with --at the
# ledger time it ran at.
cd "$root"

if [[ -t 1 ]]; then B=$'\033[1m' N=$'\033[0m'; else B="" N=""; fi
step=""
trap 'rc=$?; [[ $rc == 0 ]] || echo "demo: FAILED during: $step (exit $rc)" >&2' ERR

say() { # a chapter of the story
	step=$1
	printf '\n%s== %s%s\n' "$B" "$1" "$N"
	shift
	for line in "$@"; do printf '   %s\n' "$line"; done
}
AT=""
clock() { # the story's clock: every command from now on runs --at $1
	AT=$1
}
show() { # print a command line, quoting what the shell would need quoted
	local out="" a
	for a in "$@"; do
		a=${a#"$root/"}
		if [[ $a =~ [^A-Za-z0-9_./:=@,+-] ]]; then a="'${a//\'/\'\\\'\'}'"; fi
		out+=" $a"
	done
	printf '\n$ fedmeter%s\n' "$out"
}
fm() { # run and show a fedmeter command, at the story's clock
	set -- ${AT:+--at "$AT"} "$@"
	show "$@"
	"$FEDMETER" "$@"
}
fm_refused() { # a command that must be refused with exit code $1
	local want=$1 rc=0
	shift
	set -- ${AT:+--at "$AT"} "$@"
	show "$@"
	"$FEDMETER" "$@" || rc=$?
	if [[ $rc != "$want" ]]; then
		echo "demo: expected exit code $want, got $rc" >&2
		return 1
	fi
	printf '   (refused with exit code %s, as it should be)\n' "$rc"
}

T0=2026-01-01T00:00:00Z     # the server is provisioned
RES=ecs-00002001             # the seed's server
BILL=$RES:000001

printf 'Every command is shown as it runs, from the repository root, with the ledger\n'
printf 'time it runs at (--at): pasted in this order into a shell that ran the export\n'
printf 'below, on a new ledger, each gives what is shown (transaction IDs and hashes aside).\n'
printf '\n%s$ export FEDMETER_DATA=%s%s   (the ledger every command below uses)\n' "$B" "$FEDMETER_DATA" "$N"

say "1. Three research clouds form a consortium" \
	"Org1, Org2 and Org3 each get a CA and identities (Admin, User1, Agent1)." \
	"The consortium's policy: a strict majority (2 of 3) approves rules and changes."
clock 2025-12-31T22:00:00Z
fm init

say "2. Org1, a provider, publishes its price book for cloud servers (ecs)" \
	"Prices are integers in minor units: with --currency CNY --scale 2 they count" \
	"hundredths of a yuan (fen), so vcpu_hour=12 is 0.12 CNY per vCPU-hour," \
	"memory_gib_hour=3 is 0.03 CNY per GiB of memory per hour, egress_gib=80 is" \
	"0.80 CNY per GiB sent out." \
	"Prices are public: Org3 reads them too."
clock $T0
fm --as Org1/Admin price set ecs --currency CNY --scale 2 \
	vcpu_hour=12 memory_gib_hour=3 disk_gib_hour=1 public_ip_hour=5 egress_gib=80
fm --as Org3/User1 price get Org1MSP ecs

say "3. Org1 grants Org2 a quota"
fm --as Org1/Admin quota set Org2MSP max_days=365 vcpu=16 memory_gib=64 system_disk_gib=100 data_disk_gib=500 public_ips=2

say "4. Org2 requests a server from Org1; Org1 provisions it" \
	"The request is checked against the quota; activation starts the billing."
fm --as Org2/User1 resource request --id $RES --provider Org1MSP --type ecs --days 30 \
	--spec vcpu=2,memory_gib=4,system_disk_gib=40,data_disk_gib=100,public_ips=1 --attr zone=bj-1
fm --as Org2/User1 quota get Org1MSP
fm --as Org1/Agent1 resource activate $RES

say "5. Org1's metering agent submits the server's usage" \
	"A CSV file of three records: 7 GiB sent out (egress_gib, billed per GiB) and" \
	"150,000 CPU-seconds used over 20 hours (cpu_seconds). The ECS rule bills a" \
	"server for the time it is held, busy or idle, so it records cpu_seconds but" \
	"charges nothing for it; a rule that billed CPU time would price it." \
	"Submitting the same file again changes nothing: each record ID counts once."
clock 2026-01-01T20:00:00Z
cat >"$DEMO_DIR/usage.csv" <<EOF
id,resource,metric,quantity,start,end
u-0001,$RES,egress_gib,3,2026-01-01T00:00:00Z,2026-01-01T10:00:00Z
u-0002,$RES,egress_gib,4,2026-01-01T10:00:00Z,2026-01-01T20:00:00Z
u-0003,$RES,cpu_seconds,150000,2026-01-01T00:00:00Z,2026-01-01T20:00:00Z
EOF
show_cat() { # print a file as the reader would with cat
	printf '\n$ cat %s\n' "$1"
	cat "$1"
}
show_cat "$DEMO_DIR/usage.csv"
fm --as Org1/Agent1 usage submit "$DEMO_DIR/usage.csv"
fm --as Org1/Agent1 usage submit "$DEMO_DIR/usage.csv"

say "6. The ECS billing rule: tested, uploaded, approved by 2 of 3, activated" \
	"rules/ecs, built reproducibly by make rules into $ECS_WASM." \
	"Only admins of member orgs upload rules unless the members vote otherwise" \
	"(member propose upload members): every peer prepares what is uploaded." \
	"Votes name the module's SHA-256: what runs is exactly what was voted."
clock 2026-01-01T21:00:00Z
fm rule test "$ECS_WASM" --vectors "$root/rules/ecs/testdata/vectors/*.json" --brief
fm_refused 3 --as Org1/User1 rule upload "$ECS_WASM" --name ecs --version 1.0.0 --types ecs
fm --as Org1/Admin rule upload "$ECS_WASM" --name ecs --version 1.0.0 --types ecs \
	--description "the standard ECS rule: per-second holding at hourly prices, egress per GiB"
fm --as Org1/Admin rule vote approve ecs@1.0.0
fm --as Org2/Admin rule vote approve ecs@1.0.0
fm_refused 1 --as Org3/Admin rule vote reject ecs@1.0.0
fm --as Org1/Admin rule activate ecs ecs@1.0.0

say "7. Org2 releases the server after one day: the ledger bills it" \
	"The contract builds the rule's input from ledger data alone and runs the" \
	"approved Wasm rule, gas-metered, on the ledger. The bill's ID is the" \
	"resource's ID and the bill's number: $BILL is the first bill" \
	"of $RES. The rule bills the server's size for the time held, per" \
	"second at the hourly prices (shown in hours; \"= 0.12 per vcpu_hour\" is the" \
	"price a line works out at), and egress per GiB; cpu_seconds costs nothing."
clock 2026-01-02T00:00:00Z
fm --as Org2/User1 resource release $RES
fm_refused 3 --as Org3/Admin bill show $BILL

say "8. Org1 lists the bills it issued and its total receivables"
fm --as Org1/Admin bill list --role provider
fm --as Org1/Admin bill total --provider

say "9. Org2 verifies its bill offline" \
	"It fetches the rule's code by hash, rebuilds the input from the ledger and" \
	"reruns the rule locally: amount, lines and gas must match exactly."
fm --as Org2/User1 bill verify $BILL

say "10. The ledger verifies: an unbroken hash chain, state and history match the log"
fm ledger verify

say "11. Settlement: January's statement, acknowledged and paid" \
	"In February, Org1 issues Org2 a statement for January: every bill of Org1 to" \
	"Org2 in CNY whose period ended in January and that is on no statement yet" \
	"(the ledger stores their IDs and a hash of them; no bill is ever on two" \
	"statements). Only admins act: the provider's issue and confirm, the" \
	"consumer's acknowledge or dispute, either side's record payments." \
	"Org2 reads it, exports it (CSV, and a page to print with one line per bill" \
	"ID), acknowledges it and records its bank transfer; Org1, the payee," \
	"confirms receipt, and the statement is paid."
clock 2026-02-02T09:00:00Z
fm_refused 3 --as Org1/User1 statement issue Org2MSP --currency CNY --month 2026-01
fm --as Org1/Admin statement issue Org2MSP --currency CNY --month 2026-01 --id st-2026-01
fm --as Org2/Admin statement show st-2026-01
fm --as Org2/Admin statement export st-2026-01 --format csv
fm --as Org2/Admin statement export st-2026-01 --format html --out "$DEMO_DIR/st-2026-01.html"
fm --as Org2/Admin statement acknowledge st-2026-01
clock 2026-02-10T10:00:00Z
fm --as Org2/Admin statement pay st-2026-01 --reference WIRE-20260210-0042 --amount outstanding --date 2026-02-10
fm_refused 3 --as Org2/Admin statement confirm st-2026-01 WIRE-20260210-0042
fm --as Org1/Admin statement confirm st-2026-01 WIRE-20260210-0042
fm --as Org1/Admin statement list

step=""
printf '\n%sThe story played to the end.%s\n' "$B" "$N"
if [[ $keep == 1 ]]; then
	printf 'The ledger is in %s; explore it with: FEDMETER_DATA=%s %s --help\n' "$FEDMETER_DATA" "$FEDMETER_DATA" "$FEDMETER"
else
	printf 'Run DEMO_KEEP=1 make demo to keep the ledger and explore it.\n'
fi
