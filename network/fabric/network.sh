#!/usr/bin/env bash
# network.sh: the fedmeter seed topology (3 orgs x 2 peers, 3 Raft orderers,
# channels channelall, channel12, channel13, channel23) as native Fabric
# processes on 127.0.0.1. No Docker needed.
#
#   network.sh up                 crypto, nodes, channels, contracts, profiles
#   network.sh down               stop everything started here, remove the state
#   network.sh status             each node's process, health and channel heights
#   network.sh deploy NAME...     (re)deploy contracts: fedmeter, putget
#   network.sh query PEER CHANNEL CHAINCODE JSON_ARGS [ORG]
#   network.sh invoke ORG CHANNEL CHAINCODE JSON_ARGS
#   network.sh env PEER           shell exports to drive PEER with the peer CLI
#   network.sh prune              sizes of the state folder; empties the logs
#
# FEDMETER_RUNTIME=docker runs the same nodes as containers instead, with
# docker-compose.yaml (see README.md); the default is native processes.
#
# Fabric's release binaries come from $FABRIC_BIN or PATH, their config folder
# (core.yaml, orderer.yaml) from $FABRIC_CFG_PATH or the `config` folder next
# to the binaries, and the chaincode-as-a-service builder from
# $FABRIC_CCAAS_BUILDER or `builders/ccaas` next to them: the layout that
# Fabric's install-fabric.sh creates. Per-node settings are environment
# variable overrides; the shipped config files are never edited.
#
# Environment:
#   FEDMETER_NET_DIR       state folder (default $HOME/.fedmeter/fabric)
#   FEDMETER_PORT_OFFSET   added to every port (default 0; see README.md)
#   FEDMETER_BATCH         interactive (default) or bulk: the channels' block
#                          cutting settings, fixed when channels are created
#   FEDMETER_CHAINCODES    contracts deployed by `up` (default: fedmeter if
#                          chaincode/cmd/fedmeter-cc exists, else putget)
#   FEDMETER_NODE_LOGGING  FABRIC_LOGGING_SPEC of the nodes (default info)
#   FEDMETER_PPROF         1: every node serves Go's pprof on 127.0.0.1, a peer
#                          on its port + 9, an orderer on its port + 8, an
#                          org's fedmeter service on its port + 20
#   FEDMETER_RUNTIME       native (default) or docker
# CORE_* and ORDERER_* variables of the calling shell are ignored: every
# node's settings come from this script (and are written to $NET/env/).
set -euo pipefail
for v in $(compgen -e); do case $v in CORE_* | ORDERER_*) unset "$v" ;; esac; done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
NET=${FEDMETER_NET_DIR:-$HOME/.fedmeter/fabric}
OFF=${FEDMETER_PORT_OFFSET:-0}
BATCH=${FEDMETER_BATCH:-interactive}
RUNTIME=${FEDMETER_RUNTIME:-native}
case $RUNTIME in native | docker) ;; *) echo "network.sh: FEDMETER_RUNTIME must be native or docker" >&2; exit 2 ;; esac
MARKER=.fedmeter-fabric-net
CRYPTO=$NET/crypto
CHANNELS=(channelall channel12 channel13 channel23)
ORDERERS=(orderer1 orderer2 orderer3)
PEERS=(peer0.org1 peer1.org1 peer0.org2 peer1.org2 peer0.org3 peer1.org3)
ORGS=(1 2 3)
CC_VERSION=1
# Fabric's default log format without the terminal colours.
LOG_FORMAT='%{time:2006-01-02 15:04:05.000 MST} [%{module}] %{shortfunc} -> %{level:.4s} %{id:03x} %{message}'

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'network.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- ports

# One table for every port; README.md shows it. All bind to 127.0.0.1.
orderer_port() { # orderer1..3 -> listen port (also its Raft cluster port)
	case $1 in orderer1) echo $((7050 + OFF)) ;; orderer2) echo $((8050 + OFF)) ;; orderer3) echo $((9050 + OFF)) ;; esac
}
orderer_admin_port() { echo $(($(orderer_port "$1") + 3)); }
orderer_ops_port() {
	case $1 in orderer1) echo $((9443 + OFF)) ;; orderer2) echo $((9444 + OFF)) ;; orderer3) echo $((9445 + OFF)) ;; esac
}
peer_org() { local p=${1#*.org}; echo "$p"; }   # peer0.org2 -> 2
peer_idx() { local p=${1%%.*}; echo "${p#peer}"; } # peer0.org2 -> 0
peer_port() { echo $((6051 + 1000 * $(peer_org "$1") + 100 * $(peer_idx "$1") + OFF)); }
peer_cc_port() { echo $(($(peer_port "$1") + 1)); }
peer_ops_port() { echo $((9444 + 2 * $(peer_org "$1") + $(peer_idx "$1") + OFF)); }
# Go's pprof (FEDMETER_PPROF=1): for profiling a node under load.
peer_pprof_port() { echo $(($(peer_port "$1") + 9)); }
orderer_pprof_port() { echo $(($(orderer_port "$1") + 8)); }
cc_pprof_port() { echo $(($(cc_port fedmeter "$1") + 20)); } # org -> fedmeter's service
pprof_on() { [ "${FEDMETER_PPROF:-0}" = 1 ]; }
# Chaincode services: one process per org per contract, serving both of the
# org's peers on every channel the org belongs to.
cc_port() { # contract org -> port
	local base
	case $1 in fedmeter) base=55 ;; putget) base=56 ;; *) die "unknown contract $1" ;; esac
	echo $((6000 + 1000 * $2 + base + OFF))
}
all_ports() {
	local n o
	for n in "${ORDERERS[@]}"; do
		echo "$(orderer_port "$n") $(orderer_admin_port "$n") $(orderer_ops_port "$n")"
		if pprof_on; then orderer_pprof_port "$n"; fi
	done
	for n in "${PEERS[@]}"; do
		echo "$(peer_port "$n") $(peer_cc_port "$n") $(peer_ops_port "$n")"
		if pprof_on; then peer_pprof_port "$n"; fi
	done
	for o in "${ORGS[@]}"; do
		echo "$(cc_port fedmeter "$o") $(cc_port putget "$o")"
		if pprof_on; then cc_pprof_port "$o"; fi
	done
}
orderer_addr() { echo "127.0.0.1:$(orderer_port "${1:-orderer1}")"; }
peer_addr() { echo "127.0.0.1:$(peer_port "$1")"; }

channel_orgs() {
	case $1 in
	channelall) echo 1 2 3 ;; channel12) echo 1 2 ;; channel13) echo 1 3 ;; channel23) echo 2 3 ;;
	*) die "unknown channel $1" ;;
	esac
}
org_channels() { # org -> channels it belongs to
	local ch o
	for ch in "${CHANNELS[@]}"; do
		for o in $(channel_orgs "$ch"); do if [ "$o" = "$1" ]; then printf '%s ' "$ch"; fi; done
	done
}

# ---------------------------------------------------------------- crypto paths

org_dir() { echo "$CRYPTO/peerOrganizations/org$1.example.com"; }
peer_dir() { echo "$(org_dir "$(peer_org "$1")")/peers/$1.example.com"; }
peer_tls_ca() { echo "$(peer_dir "$1")/tls/ca.crt"; }
orderer_dir() { echo "$CRYPTO/ordererOrganizations/example.com/orderers/$1.example.com"; }
orderer_tls_ca() { echo "$CRYPTO/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem"; }
orderer_admin_tls() { echo "$CRYPTO/ordererOrganizations/example.com/users/Admin@example.com/tls"; }
user_msp() { echo "$(org_dir "$1")/users/$2@org$1.example.com/msp"; } # org user -> msp dir

# ---------------------------------------------------------------- binaries

find_fabric() {
	if [ -n "${FABRIC_BIN:-}" ]; then
		[ -d "$FABRIC_BIN" ] || die "FABRIC_BIN=$FABRIC_BIN is not a folder"
		PATH="$FABRIC_BIN:$PATH"
	fi
	local b missing=()
	local need="peer configtxgen osnadmin cryptogen"
	[ "$RUNTIME" = native ] && need="$need orderer"
	for b in $need; do
		command -v "$b" >/dev/null 2>&1 || missing+=("$b")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		die "Fabric binaries not found: ${missing[*]}. Install them (README.md: install-fabric.sh binary) and put their bin folder on PATH or in FABRIC_BIN."
	fi
	local bindir d
	bindir=$(cd "$(dirname "$(command -v peer)")" && pwd)
	if [ -z "${FABRIC_CFG_PATH:-}" ]; then
		for d in "$bindir/../config" "$bindir/config"; do
			if [ -f "$d/core.yaml" ]; then FABRIC_CFG_PATH=$(cd "$d" && pwd); break; fi
		done
	fi
	[ -n "${FABRIC_CFG_PATH:-}" ] && [ -f "$FABRIC_CFG_PATH/core.yaml" ] && [ -f "$FABRIC_CFG_PATH/orderer.yaml" ] ||
		die "Fabric's config folder (core.yaml, orderer.yaml) not found: set FABRIC_CFG_PATH (install-fabric.sh puts it in config/ next to bin/)"
	export FABRIC_CFG_PATH
	if [ "$RUNTIME" = docker ]; then
		command -v docker >/dev/null 2>&1 || die "FEDMETER_RUNTIME=docker but no docker command"
		FABRIC_CCAAS_BUILDER=/opt/hyperledger/ccaas_builder # inside the peer image
		return 0
	fi
	if [ -z "${FABRIC_CCAAS_BUILDER:-}" ]; then
		for d in "$bindir/../builders/ccaas" "$bindir/builders/ccaas" "$bindir/ccaas" "$bindir/../ccaas"; do
			if [ -x "$d/bin/detect" ]; then FABRIC_CCAAS_BUILDER=$(cd "$d" && pwd); break; fi
		done
	fi
	[ -n "${FABRIC_CCAAS_BUILDER:-}" ] && [ -x "$FABRIC_CCAAS_BUILDER/bin/detect" ] ||
		die "chaincode-as-a-service builder not found: set FABRIC_CCAAS_BUILDER to the folder holding bin/detect, bin/build, bin/release (install-fabric.sh puts it in builders/ccaas)"
}

# ---------------------------------------------------------------- processes

pidfile() { echo "$NET/run/$1.pid"; }

compose() {
	FEDMETER_NET_DIR=$NET FEDMETER_UID=$(id -u) FEDMETER_GID=$(id -g) \
		docker compose -p fedmeter-fabric -f "$HERE/docker-compose.yaml" "$@"
}

alive() { # name -> 0 if its recorded process (or container) runs
	local f pid
	if [ "$RUNTIME" = docker ]; then
		[ -f "$(pidfile "$1")" ] && compose ps --status running --services 2>/dev/null | grep -qxF "$1"
		return
	fi
	f=$(pidfile "$1")
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid: the process must be the one we started.
	ps -p "$pid" -o args= 2>/dev/null | grep -qF "$(cat "$NET/run/$1.bin")"
}

# Every node's and service's settings, as VAR=value lines: the record of
# what it was started with, and docker-compose.yaml's env_file.
dump_env() { # name
	local v
	mkdir -p "$NET/env"
	for v in $(compgen -e); do
		case $v in CORE_* | ORDERER_* | FABRIC_LOGGING_* | CHAINCODE_* | FEDMETER_RULE_CACHE | FEDMETER_PPROF_ADDRESS) printf '%s=%s\n' "$v" "${!v}" ;; esac
	done >"$NET/env/$1.env"
}

start_proc() { # name binary args... (environment as set by the caller)
	local name=$1 bin=$2
	shift 2
	mkdir -p "$NET/run" "$NET/logs"
	dump_env "$name"
	if [ "$RUNTIME" = docker ]; then
		echo docker >"$(pidfile "$name")"
		run "docker compose up $name" compose up -d --force-recreate --no-deps "$name"
		return 0
	fi
	echo "$bin" >"$NET/run/$name.bin"
	# Own session, so that ^C on the terminal that ran `up` does not reach the
	# nodes; the wrapper records the pid of the exec'd binary itself.
	if command -v setsid >/dev/null 2>&1; then
		setsid bash -c 'echo $$ >"$0"; exec "$@"' "$(pidfile "$name")" "$bin" "$@" \
			>>"$NET/logs/$name.log" 2>&1 </dev/null &
	else
		nohup bash -c 'echo $$ >"$0"; exec "$@"' "$(pidfile "$name")" "$bin" "$@" \
			>>"$NET/logs/$name.log" 2>&1 </dev/null &
	fi
	local i
	for i in $(seq 50); do [ -s "$(pidfile "$name")" ] && return 0; sleep 0.1; done
	die "$name did not start; see $NET/logs/$name.log"
}

stop_proc() { # name: TERM, then KILL after 10 s
	local name=$1 pid i
	if [ "$RUNTIME" = docker ]; then
		[ -f "$(pidfile "$name")" ] && compose rm -sf "$name" >/dev/null 2>&1 || true
		rm -f "$(pidfile "$name")"
		return 0
	fi
	alive "$name" || { rm -f "$(pidfile "$name")"; return 0; }
	pid=$(cat "$(pidfile "$name")")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) ignored SIGTERM; killing"
		kill -9 "$pid" 2>/dev/null || true
		for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f "$(pidfile "$name")"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port
	local i
	for i in $(seq 300); do
		port_open "$2" && return 0
		alive "$1" || die "$1 exited; last lines of $NET/logs/$1.log:
$(tail -n 20 "$NET/logs/$1.log" 2>/dev/null)"
		sleep 0.1
	done
	die "$1 is not listening on 127.0.0.1:$2 after 30 s; see $NET/logs/$1.log"
}

# run DESC CMD...: run a CLI command, its output kept in logs/admin.log and
# shown only when it fails.
run() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		printf '### %s\n%s\n' "$desc" "$out" >>"$NET/logs/admin.log"
		return 0
	fi
	printf '### %s (FAILED)\n%s\n' "$desc" "$out" >>"$NET/logs/admin.log"
	printf 'network.sh: %s failed:\n%s\n' "$desc" "$out" >&2
	return 1
}

# retry N DESC CMD...: for steps that race with Raft leader election or
# gossip membership right after start.
retry() {
	local n=$1 desc=$2 i
	shift 2
	for i in $(seq "$n"); do
		if "$@" >>"$NET/logs/admin.log" 2>&1; then return 0; fi
		sleep 1
	done
	run "$desc" "$@"
}

# ---------------------------------------------------------------- node env

orderer_env() { # orderer -> exports for `orderer`
	local o=$1 d tls
	d=$(orderer_dir "$o")
	tls=$d/tls
	export FABRIC_LOGGING_SPEC=${FEDMETER_NODE_LOGGING:-info} FABRIC_LOGGING_FORMAT="$LOG_FORMAT"
	export ORDERER_GENERAL_LISTENADDRESS=127.0.0.1
	export ORDERER_GENERAL_LISTENPORT=$(orderer_port "$o")
	export ORDERER_GENERAL_LOCALMSPID=OrdererMSP
	export ORDERER_GENERAL_LOCALMSPDIR=$d/msp
	export ORDERER_GENERAL_BOOTSTRAPMETHOD=none
	export ORDERER_GENERAL_TLS_ENABLED=true
	export ORDERER_GENERAL_TLS_CERTIFICATE=$tls/server.crt
	export ORDERER_GENERAL_TLS_PRIVATEKEY=$tls/server.key
	export ORDERER_GENERAL_TLS_ROOTCAS="[$tls/ca.crt]"
	export ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE=$tls/server.crt
	export ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY=$tls/server.key
	export ORDERER_CHANNELPARTICIPATION_ENABLED=true
	export ORDERER_ADMIN_LISTENADDRESS=127.0.0.1:$(orderer_admin_port "$o")
	export ORDERER_ADMIN_TLS_ENABLED=true
	export ORDERER_ADMIN_TLS_CERTIFICATE=$tls/server.crt
	export ORDERER_ADMIN_TLS_PRIVATEKEY=$tls/server.key
	export ORDERER_ADMIN_TLS_ROOTCAS="[$tls/ca.crt]"
	export ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true
	export ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$tls/ca.crt]"
	export ORDERER_OPERATIONS_LISTENADDRESS=127.0.0.1:$(orderer_ops_port "$o")
	export ORDERER_FILELEDGER_LOCATION=$NET/data/$o
	export ORDERER_CONSENSUS_WALDIR=$NET/data/$o/etcdraft/wal
	export ORDERER_CONSENSUS_SNAPDIR=$NET/data/$o/etcdraft/snapshot
	if pprof_on; then
		export ORDERER_GENERAL_PROFILE_ENABLED=true ORDERER_GENERAL_PROFILE_ADDRESS=127.0.0.1:$(orderer_pprof_port "$o")
	fi
}

peer_node_env() { # peer -> exports for `peer node start`
	local p=$1 o i other d
	o=$(peer_org "$p")
	i=$(peer_idx "$p")
	other=peer$((1 - i)).org$o
	d=$(peer_dir "$p")
	export FABRIC_LOGGING_SPEC=${FEDMETER_NODE_LOGGING:-info} FABRIC_LOGGING_FORMAT="$LOG_FORMAT"
	export CORE_PEER_ID=$p.example.com
	export CORE_PEER_ADDRESS=$(peer_addr "$p")
	export CORE_PEER_LISTENADDRESS=$(peer_addr "$p")
	export CORE_PEER_CHAINCODEADDRESS=127.0.0.1:$(peer_cc_port "$p")
	export CORE_PEER_CHAINCODELISTENADDRESS=127.0.0.1:$(peer_cc_port "$p")
	# Gossip bootstrap stays inside the org; the external endpoint is what
	# other orgs learn through the anchor peers (configtx.yaml).
	export CORE_PEER_GOSSIP_BOOTSTRAP=$(peer_addr "$other")
	export CORE_PEER_GOSSIP_EXTERNALENDPOINT=$(peer_addr "$p")
	export CORE_PEER_LOCALMSPID=Org${o}MSP
	export CORE_PEER_MSPCONFIGPATH=$d/msp
	export CORE_PEER_TLS_ENABLED=true
	export CORE_PEER_TLS_CERT_FILE=$d/tls/server.crt
	export CORE_PEER_TLS_KEY_FILE=$d/tls/server.key
	export CORE_PEER_TLS_ROOTCERT_FILE=$d/tls/ca.crt
	export CORE_PEER_FILESYSTEMPATH=$NET/data/$p
	export CORE_LEDGER_SNAPSHOTS_ROOTDIR=$NET/data/$p/snapshots
	export CORE_OPERATIONS_LISTENADDRESS=127.0.0.1:$(peer_ops_port "$p")
	if pprof_on; then
		export CORE_PEER_PROFILE_ENABLED=true CORE_PEER_PROFILE_LISTENADDRESS=127.0.0.1:$(peer_pprof_port "$p")
	fi
	# No Docker: chaincode runs only as a service through the ccaas builder,
	# and an empty VM endpoint drops the Docker health check.
	export CORE_VM_ENDPOINT=
	export CORE_CHAINCODE_EXTERNALBUILDERS="[{name: ccaas_builder, path: $FABRIC_CCAAS_BUILDER, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}]"
}

admin_env() { # org [peer] -> exports for the peer CLI as the org's admin
	local o=$1 p=${2:-peer0.org$1}
	export FABRIC_LOGGING_SPEC=warning:grpc=error
	export CORE_PEER_LOCALMSPID=Org${o}MSP
	export CORE_PEER_MSPCONFIGPATH=$(user_msp "$o" Admin)
	export CORE_PEER_ADDRESS=$(peer_addr "$p")
	export CORE_PEER_TLS_ENABLED=true
	export CORE_PEER_TLS_ROOTCERT_FILE=$(peer_tls_ca "$p")
}

osn() { # orderer osnadmin-args...
	local o=$1 t
	shift
	t=$(orderer_admin_tls)
	osnadmin "$@" -o "127.0.0.1:$(orderer_admin_port "$o")" --ca-file "$(orderer_tls_ca)" \
		--client-cert "$t/client.crt" --client-key "$t/client.key"
}

orderer_flags() { echo -o "$(orderer_addr orderer1)" --tls --cafile "$(orderer_tls_ca)"; }

# ---------------------------------------------------------------- up

batch_settings() { # -> "timeout count preferredbytes"
	local bt mmc pmb
	case $BATCH in
	interactive) bt=100ms mmc=100 pmb="2 MB" ;;
	# Bulk usage import: the same short timeout (a lone batch of records
	# waits for it; a longer one cut usage/s by 2-3x at 1-4 batches in
	# flight) with room for more and bigger transactions per block (a
	# 500-record UsageSubmit is ~300 KB). README.md section 6.
	bulk) bt=100ms mmc=200 pmb="8 MB" ;;
	*) die "FEDMETER_BATCH must be interactive or bulk, not '$BATCH'" ;;
	esac
	# For experiments: FEDMETER_BATCH_TIMEOUT=2s FEDMETER_MAX_MESSAGE_COUNT=10
	# gives Fabric's sample defaults.
	echo "${FEDMETER_BATCH_TIMEOUT:-$bt} ${FEDMETER_MAX_MESSAGE_COUNT:-$mmc} $pmb"
}

render_configtx() {
	local bt mmc pmb1 pmb2
	read -r bt mmc pmb1 pmb2 <<<"$(batch_settings)"
	mkdir -p "$NET/config"
	sed -e "s|@CRYPTO@|$CRYPTO|g" \
		-e "s|@ORDERER1_PORT@|$(orderer_port orderer1)|g" \
		-e "s|@ORDERER2_PORT@|$(orderer_port orderer2)|g" \
		-e "s|@ORDERER3_PORT@|$(orderer_port orderer3)|g" \
		-e "s|@PEER0_ORG1_PORT@|$(peer_port peer0.org1)|g" \
		-e "s|@PEER0_ORG2_PORT@|$(peer_port peer0.org2)|g" \
		-e "s|@PEER0_ORG3_PORT@|$(peer_port peer0.org3)|g" \
		-e "s|@BATCH_TIMEOUT@|$bt|g" \
		-e "s|@MAX_MESSAGE_COUNT@|$mmc|g" \
		-e "s|@PREFERRED_MAX_BYTES@|$pmb1 $pmb2|g" \
		"$HERE/configtx.yaml" >"$NET/config/configtx.yaml"
	! grep -q '@[A-Z0-9_]*@' "$NET/config/configtx.yaml" || die "unrendered placeholder in configtx.yaml"
}

any_alive() {
	local f n
	for f in "$NET"/run/*.pid; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .pid)
		alive "$n" && return 0
	done
	return 1
}

cmd_up() {
	local started=$SECONDS
	find_fabric
	if [ -d "$NET" ]; then
		[ -f "$NET/$MARKER" ] || die "$NET exists but was not made by network.sh; set FEDMETER_NET_DIR elsewhere"
		any_alive && die "the network in $NET is already running (network.sh status; network.sh down)"
		log "removing stale state in $NET"
		rm -rf "$NET"
	fi
	local port busy=""
	for port in $(all_ports); do port_open "$port" && busy+=" $port"; done
	[ -z "$busy" ] || die "ports in use on 127.0.0.1:$busy (another network? FEDMETER_PORT_OFFSET moves this one)"
	mkdir -p "$NET/run" "$NET/logs" "$NET/data" "$NET/blocks"
	touch "$NET/$MARKER"
	if [ "$RUNTIME" = docker ]; then touch "$NET/runtime-docker"; fi
	log "state folder $NET; Fabric $(peer version 2>/dev/null | sed -n 's/^ Version: //p'); config $FABRIC_CFG_PATH"

	run "cryptogen" cryptogen generate --config "$HERE/crypto-config.yaml" --output "$CRYPTO"
	render_configtx

	local o p ch
	for o in "${ORDERERS[@]}"; do
		(orderer_env "$o" && start_proc "$o" "$(command -v orderer)")
	done
	for p in "${PEERS[@]}"; do
		(peer_node_env "$p" && start_proc "$p" "$(command -v peer)" node start)
	done
	for o in "${ORDERERS[@]}"; do wait_port "$o" "$(orderer_admin_port "$o")"; done
	for p in "${PEERS[@]}"; do wait_port "$p" "$(peer_port "$p")"; done
	log "3 orderers and 6 peers running"

	for ch in "${CHANNELS[@]}"; do create_channel "$ch"; done
	for ch in "${CHANNELS[@]}"; do wait_channel_leader "$ch"; done
	for ch in "${CHANNELS[@]}"; do join_peers "$ch"; done

	local ccs=${FEDMETER_CHAINCODES:-auto}
	if [ "$ccs" = auto ]; then
		if [ -d "$REPO/chaincode/cmd/fedmeter-cc" ]; then ccs=fedmeter; else
			ccs=putget
			log "chaincode/cmd/fedmeter-cc does not exist yet: deploying the putget contract"
		fi
	fi
	local cc
	for cc in $ccs; do deploy "$cc"; done
	write_profiles "${ccs%% *}"
	log "network up in $((SECONDS - started)) s: $NET/profiles/org{1,2,3}.yaml; network.sh status"
}

create_channel() {
	local ch=$1 o
	run "configtxgen $ch" configtxgen -configPath "$NET/config" -profile "$ch" \
		-outputBlock "$NET/blocks/$ch.block" -channelID "$ch"
	for o in "${ORDERERS[@]}"; do
		run "osnadmin channel join $ch on $o" osn "$o" channel join --channelID "$ch" --config-block "$NET/blocks/$ch.block"
	done
}

wait_channel_leader() { # a leader exists once the channel accepts a broadcast;
	# osnadmin reports status "active" for every consenter of a started chain.
	local ch=$1 o i ok
	for i in $(seq 120); do
		ok=1
		for o in "${ORDERERS[@]}"; do
			osn "$o" channel list --channelID "$ch" 2>/dev/null | grep -q '"status": *"active"' || ok=0
		done
		if [ $ok = 1 ]; then
			# Containers log to Docker, not to logs/: there "active" must do.
			[ "$RUNTIME" = docker ] && return 0
			grep -q "Raft leader changed: 0 -> [1-3] channel=$ch" "$NET"/logs/orderer*.log && return 0
		fi
		sleep 0.5
	done
	die "no Raft leader for $ch after 60 s; see $NET/logs/orderer*.log"
}

join_peers() {
	local ch=$1 o i
	for o in $(channel_orgs "$ch"); do
		for i in 0 1; do
			(admin_env "$o" "peer$i.org$o" && run "peer$i.org$o joins $ch" peer channel join -b "$NET/blocks/$ch.block")
		done
	done
	log "channel $ch: orderers and peers of orgs $(channel_orgs "$ch") joined"
}

# ---------------------------------------------------------------- contracts

cc_main() { # contract -> Go package of its chaincode-service main
	case $1 in
	fedmeter) echo ./chaincode/cmd/fedmeter-cc ;;
	putget) echo ./network/fabric/putget ;;
	*) die "unknown contract $1 (fedmeter, putget)" ;;
	esac
}

# Deterministic package: same files -> same bytes -> same package ID, so a
# service started with an earlier CHAINCODE_ID never goes stale.
det_tar() { # out.tar.gz dir files...
	local out=$1 dir=$2
	shift 2
	tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=go-w,a+r \
		--format=gnu -cf - "$@" | gzip -n -9 >"$out"
}

package_cc() { # contract org -> prints the package path
	local cc=$1 o=$2 d label
	label=${cc}_org$o
	d=$NET/cc/$cc/org$o
	mkdir -p "$d/src"
	printf '{"address":"127.0.0.1:%s","dial_timeout":"10s","tls_required":false}\n' "$(cc_port "$cc" "$o")" >"$d/src/connection.json"
	printf '{"type":"ccaas","label":"%s"}\n' "$label" >"$d/src/metadata.json"
	det_tar "$d/src/code.tar.gz" "$d/src" connection.json
	det_tar "$d/$label.tar.gz" "$d/src" code.tar.gz metadata.json
	echo "$d/$label.tar.gz"
}

deploy() { # contract: build, package, install, start services, approve, commit
	local cc=$1 main o p i ch pkg id
	main=$(cc_main "$cc")
	[ -d "$REPO/${main#./}" ] || die "$main does not exist"
	log "deploying $cc ($main)"
	mkdir -p "$NET/bin"
	# Static (CGO off): the same binary runs natively and in a container.
	run "go build $main" bash -c "cd '$REPO' && CGO_ENABLED=0 go build -trimpath -o '$NET/bin/$cc' '$main'"

	declare -A ids
	for o in "${ORGS[@]}"; do
		pkg=$(package_cc "$cc" "$o")
		id=$(peer lifecycle chaincode calculatepackageid "$pkg")
		ids[$o]=$id
		echo "$id" >"$NET/cc/$cc/org$o/package-id"
		for i in 0 1; do
			p=peer$i.org$o
			if (admin_env "$o" "$p" && peer lifecycle chaincode queryinstalled --output json 2>/dev/null) | grep -qF "\"$id\""; then
				continue
			fi
			(admin_env "$o" "$p" && run "install $cc on $p" peer lifecycle chaincode install "$pkg")
		done
		# (Re)start the org's service with the new binary.
		stop_proc "cc-$cc-org$o"
		(
			export CHAINCODE_SERVER_ADDRESS=127.0.0.1:$(cc_port "$cc" "$o") CHAINCODE_ID=$id
			# fedmeter keeps the rules it ran here: a restarted service
			# neither reads them from the peer again nor recompiles them.
			[ "$cc" = fedmeter ] && [ "$RUNTIME" != docker ] && export FEDMETER_RULE_CACHE=$NET/data/cc-$cc-org$o/rules
			if [ "$cc" = fedmeter ] && pprof_on; then export FEDMETER_PPROF_ADDRESS=127.0.0.1:$(cc_pprof_port "$o"); fi
			start_proc "cc-$cc-org$o" "$NET/bin/$cc"
		)
		wait_port "cc-$cc-org$o" "$(cc_port "$cc" "$o")"
	done

	local seq committed args
	for ch in "${CHANNELS[@]}"; do
		committed=$( (admin_env "$(channel_orgs "$ch" | cut -d' ' -f1)" &&
			peer lifecycle chaincode querycommitted -C "$ch" -n "$cc" --output json 2>/dev/null) || true)
		if [ -n "$committed" ]; then
			log "  $cc already committed on $ch; services restarted"
			continue
		fi
		seq=1
		for o in $(channel_orgs "$ch"); do
			(admin_env "$o" && retry 30 "approve $cc for Org$o on $ch" peer lifecycle chaincode approveformyorg \
				$(orderer_flags) --channelID "$ch" --name "$cc" --version "$CC_VERSION" \
				--package-id "${ids[$o]}" --sequence "$seq")
		done
		args=()
		for o in $(channel_orgs "$ch"); do
			args+=(--peerAddresses "$(peer_addr "peer0.org$o")" --tlsRootCertFiles "$(peer_tls_ca "peer0.org$o")")
		done
		(admin_env "$(channel_orgs "$ch" | cut -d' ' -f1)" && retry 10 "commit $cc on $ch" peer lifecycle chaincode commit \
			$(orderer_flags) --channelID "$ch" --name "$cc" --version "$CC_VERSION" --sequence "$seq" "${args[@]}")
		log "  $cc committed on $ch (sequence $seq, endorsement MAJORITY of orgs $(channel_orgs "$ch"))"
	done
	# Ready when every member peer answers a read through the service.
	for ch in "${CHANNELS[@]}"; do
		for o in $(channel_orgs "$ch"); do
			for i in 0 1; do
				(admin_env "$o" "peer$i.org$o" && retry 60 "$cc ready on peer$i.org$o/$ch" \
					peer chaincode query -C "$ch" -n "$cc" -c '{"Args":["org.hyperledger.fabric:GetMetadata"]}')
			done
		done
	done
	log "$cc ready on every peer of every channel"
}

# ---------------------------------------------------------------- profiles

# Connection profiles for the fedmeter CLI's gateway backend (cli/README.md:
# endpoint, tlsCACert, mspID, certPath, keyPath, channel, chaincode; the CLI
# refuses unknown fields, so anything else is a comment). One per org, role
# and channel the org is in:
#   profiles/<channel>/orgN.yaml        User1 (OU client)
#   profiles/<channel>/orgN-admin.yaml  Admin (OU admin: votes, prices, quotas)
# and profiles/orgN.yaml, profiles/orgN-admin.yaml for channelall. Every
# path is absolute.
write_profiles() {
	local cc=$1 o role user ch f pair other
	if [ -d "$NET/cc/fedmeter" ]; then cc=fedmeter; fi
	for o in "${ORGS[@]}"; do
		pair=""
		for ch in $(org_channels "$o"); do
			[ "$ch" = channelall ] && continue
			other=${ch#channel}
			other=${other/$o/}
			pair+=" Org${other}MSP: $ch,"
		done
		for ch in $(org_channels "$o"); do
			mkdir -p "$NET/profiles/$ch"
			for role in client admin; do
				if [ $role = client ]; then user=User1 f=org$o.yaml; else user=Admin f=org$o-admin.yaml; fi
				{
					echo "# fedmeter connection profile: Org$o as $user (OU $role) on $ch."
					echo "# Written by network/fabric/network.sh; removed by network.sh down."
					echo "# Org$o's peers: $(peer_addr "peer0.org$o"), $(peer_addr "peer1.org$o") (same TLS CA)."
					echo "# Org$o's channels with one other org:${pair%,} (profiles/<channel>/)."
					echo "endpoint: $(peer_addr "peer0.org$o")"
					echo "tlsCACert: $(org_dir "$o")/tlsca/tlsca.org$o.example.com-cert.pem"
					echo "mspID: Org${o}MSP"
					echo "certPath: $(user_msp "$o" "$user")/signcerts/$user@org$o.example.com-cert.pem"
					echo "keyPath: $(user_msp "$o" "$user")/keystore/priv_sk"
					echo "channel: $ch"
					echo "chaincode: $cc"
				} >"$NET/profiles/$ch/$f"
				if [ "$ch" = channelall ]; then cp "$NET/profiles/$ch/$f" "$NET/profiles/$f"; fi
			done
		done
	done
}

# ---------------------------------------------------------------- down

cmd_down() {
	if [ ! -d "$NET" ]; then
		log "nothing to do: $NET does not exist"
		return 0
	fi
	[ -f "$NET/$MARKER" ] || die "$NET was not made by network.sh; not touching it"
	local f n
	if [ "$RUNTIME" = docker ] || [ -f "$NET/runtime-docker" ]; then
		RUNTIME=docker
		command -v docker >/dev/null 2>&1 || die "this network runs in Docker; docker is needed to stop it"
		run "docker compose down" compose down --remove-orphans
		rm -f "$NET"/run/*.pid
	fi
	for f in "$NET"/run/cc-*.pid "$NET"/run/peer*.pid "$NET"/run/orderer*.pid; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .pid)
		stop_proc "$n"
	done
	any_alive && die "some processes still run; see $NET/run"
	rm -rf "$NET"
	log "network down; $NET removed"
}

# ---------------------------------------------------------------- status

health() { # ops port -> OK / down
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -m 2 "http://127.0.0.1:$1/healthz" 2>/dev/null | grep -q '"OK"' && echo OK || echo unhealthy
	else
		port_open "$1" && echo up || echo down
	fi
}

cmd_status() {
	if [ ! -d "$NET" ]; then
		echo "network: down ($NET does not exist)"
		return 3
	fi
	find_fabric
	local n state pid o p ch h line cc down=0
	echo "network: $NET (batch: $(sed -n 's/^  BatchTimeout: //p' "$NET/config/configtx.yaml" 2>/dev/null), MaxMessageCount $(sed -n 's/^    MaxMessageCount: //p' "$NET/config/configtx.yaml" 2>/dev/null))"
	printf '%-12s %-8s %-8s %-10s %-22s %s\n' NODE PID STATE HEALTH "LISTEN" "CHANNEL HEIGHTS"
	for o in "${ORDERERS[@]}"; do
		pid=$(cat "$(pidfile "$o")" 2>/dev/null || echo -)
		if alive "$o"; then state=running; h=$(health "$(orderer_ops_port "$o")"); else state=stopped h=- down=1; fi
		line=
		if [ $state = running ]; then
			for ch in "${CHANNELS[@]}"; do
				line+="$ch:$(osn "$o" channel list --channelID "$ch" 2>/dev/null | sed -n 's/.*"height": *\([0-9]*\).*/\1/p' | head -1) "
			done
		fi
		printf '%-12s %-8s %-8s %-10s %-22s %s\n' "$o" "$pid" "$state" "$h" "$(orderer_addr "$o")" "$line"
	done
	for p in "${PEERS[@]}"; do
		pid=$(cat "$(pidfile "$p")" 2>/dev/null || echo -)
		if alive "$p"; then state=running; h=$(health "$(peer_ops_port "$p")"); else state=stopped h=- down=1; fi
		line=
		if [ $state = running ]; then
			for ch in $(org_channels "$(peer_org "$p")"); do
				line+="$ch:$( (admin_env "$(peer_org "$p")" "$p" && peer channel getinfo -c "$ch" 2>/dev/null) | sed -n 's/.*"height":\([0-9]*\).*/\1/p') "
			done
		fi
		printf '%-12s %-8s %-8s %-10s %-22s %s\n' "$p" "$pid" "$state" "$h" "$(peer_addr "$p")" "$line"
	done
	for f in "$NET"/run/cc-*.pid; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .pid)
		cc=${n#cc-}
		cc=${cc%-org*}
		o=${n##*-org}
		pid=$(cat "$f")
		if alive "$n"; then state=running; else state=stopped down=1; fi
		printf '%-12s %-8s %-8s %-10s %-22s %s\n' "${cc}.org$o" "$pid" "$state" "-" "127.0.0.1:$(cc_port "$cc" "$o")" \
			"$(cat "$NET/cc/$cc/org$o/package-id" 2>/dev/null) on $(org_channels "$o")"
	done
	[ -d "$NET/profiles" ] && echo "profiles: $NET/profiles/org{1,2,3}[-admin].yaml (channelall), $NET/profiles/<channel>/"
	return $down
}

# ---------------------------------------------------------------- helpers

cmd_query() { # peer channel chaincode json [org]
	[ $# = 4 ] || [ $# = 5 ] || die "usage: network.sh query PEER CHANNEL CHAINCODE JSON_ARGS [ORG (default: the peer's)]"
	find_fabric
	admin_env "${5:-$(peer_org "$1")}" "$1"
	peer chaincode query -C "$2" -n "$3" -c "$4"
}

cmd_invoke() { # org channel chaincode json: endorsed by peer0 of every member org
	[ $# = 4 ] || die "usage: network.sh invoke ORG(1-3) CHANNEL CHAINCODE JSON_ARGS"
	find_fabric
	local o args=()
	for o in $(channel_orgs "$2"); do
		args+=(--peerAddresses "$(peer_addr "peer0.org$o")" --tlsRootCertFiles "$(peer_tls_ca "peer0.org$o")")
	done
	admin_env "$1"
	peer chaincode invoke $(orderer_flags) -C "$2" -n "$3" -c "$4" --waitForEvent "${args[@]}"
}

cmd_env() { # peer -> exports
	[ $# = 1 ] || die "usage: network.sh env PEER (e.g. peer0.org1)"
	find_fabric
	admin_env "$(peer_org "$1")" "$1"
	local v
	echo "export PATH=\"$(dirname "$(command -v peer)"):\$PATH\""
	# FABRIC_LOGGING_SPEC: without it each peer command logs ~250 gRPC INFO lines.
	for v in FABRIC_CFG_PATH FABRIC_LOGGING_SPEC CORE_PEER_LOCALMSPID CORE_PEER_MSPCONFIGPATH CORE_PEER_ADDRESS CORE_PEER_TLS_ENABLED CORE_PEER_TLS_ROOTCERT_FILE; do
		echo "export $v=\"${!v}\""
	done
	echo "export ORDERER_CA=\"$(orderer_tls_ca)\" ORDERER=\"$(orderer_addr orderer1)\""
}

cmd_prune() { # what takes the room, and empty the logs (the ledgers stay)
	[ $# = 0 ] || die "usage: network.sh prune"
	[ -d "$NET" ] || die "nothing to prune: $NET does not exist"
	[ -f "$NET/$MARKER" ] || die "$NET was not made by network.sh; not touching it"
	echo "state folder $NET: $(du -sh "$NET" | cut -f1)"
	{ du -sh "$NET"/data/* "$NET"/logs "$NET"/cc "$NET"/bin 2>/dev/null || true; } | sort -rh | head -20
	local f
	for f in "$NET"/logs/*.log; do
		[ -e "$f" ] || continue
		: >"$f" # the nodes append (>>), so they go on writing at the start
	done
	echo "logs emptied; now $(du -sh "$NET" | cut -f1)."
	echo "Ledgers (data/peer*: blocks, state and history databases; data/orderer*: blocks, Raft WAL"
	echo "and snapshots) are not pruned: Fabric keeps every block. To start over: network.sh down; network.sh up."
}

if [ "${1:-}" != up ] && [ -f "$NET/runtime-docker" ]; then RUNTIME=docker; fi
case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
deploy)
	shift
	[ $# -gt 0 ] || die "usage: network.sh deploy fedmeter|putget..."
	find_fabric
	[ -f "$NET/$MARKER" ] || die "the network is not up"
	for c in "$@"; do deploy "$c"; done
	write_profiles "$1"
	;;
query) shift && cmd_query "$@" ;;
invoke) shift && cmd_invoke "$@" ;;
env) shift && cmd_env "$@" ;;
prune) shift && cmd_prune "$@" ;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
