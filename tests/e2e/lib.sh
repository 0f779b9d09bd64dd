# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Sourced by tests/e2e/[0-9]*.sh. TAP-like output: "ok - NAME" and
# "not ok - NAME" lines are what tests/run.sh counts; everything else a test
# prints should start with "# ".
#
# A script reads like xdp-tools' tests (xdp-filter/tests/test-xdp-filter.sh):
#   . "$(dirname "$0")/lib.sh"
#   e2e_start egr jq                  # set -u, LC_ALL=C, root, needs (below)
#   ALL_TESTS="test_default_deny test_ports"
#   netns_up srv 198.18.1.2/24 2001:db8:1::2/64   # host side gets .1 / ::1
#   test_default_deny() {
#           local cg
#           cg=$(cg_new deny)
#           assert_rc "attach" 0 egr_attach "$cg"
#           expect_udp drop 198.18.1.2 5000 --from "$cg"
#   }
#   run_tests
# Each case runs in a subshell: its first failed assertion ends it (not ok),
# the next case starts anyway; what a case started in the background, and
# what it attached, is stopped and detached when it ends. E2E_TESTS="a b"
# runs only those cases.
#
# Flow checks count at a receiver, never over a time window:
#   expect_udp pass|drop DEST PORT [--from CG] ...  (also expect_tcp, expect_ping)
# Streams for live edits wait for events (the receiver has seen a datagram,
# the sender got EPERM), never for a time: stream_start / stream_wait /
# stream_stop.
#
# Traffic rule: tests only ever address loopback, 198.18.0.0/15 and
# 2001:db8::/32 on namespaces they created. Every wait here is bounded.
#
# Works under `set -u`; does not set -e itself.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_ROOT=$(cd "$E2E_LIB_DIR/../.." && pwd)
E2E_NAME=$(basename "${0%.sh}")
E2E_PASS=0
E2E_FAIL=0
E2E_TMP=
E2E_CG_MOUNTED=
E2E_IN_CASE=
E2E_EXIT_HOOKS=()
E2E_CASE_HOOKS=()

# ---- output and assertions -------------------------------------------------

# Prints each line of its arguments (or stdin) as a "# " comment.
diag() {
	if [ $# -gt 0 ]; then
		printf '%s\n' "$*" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

# The counts live in files (one byte per result), so that cases, which run
# in subshells, add to them.
_tally() {
	if [ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ]; then
		printf x >>"$E2E_TMP/.n$1"
	elif [ "$1" = pass ]; then
		E2E_PASS=$((E2E_PASS + 1))
	else
		E2E_FAIL=$((E2E_FAIL + 1))
	fi
}
_count() {
	local n=0
	[ -n "$E2E_TMP" ] && [ -f "$E2E_TMP/.n$1" ] && n=$(stat -c %s "$E2E_TMP/.n$1")
	if [ "$1" = pass ]; then echo $((n + E2E_PASS)); else echo $((n + E2E_FAIL)); fi
}

# tap_run NAME CMD...: CMD's own "ok - " / "not ok - " lines echoed and
# counted; an exit status other than 0 with no "not ok" line fails too.
tap_run() {
	local name=$1 st line
	shift
	"$@" | while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok - "*) _tally pass ;;
		"not ok - "*) _tally fail ;;
		esac
	done
	st=${PIPESTATUS[0]}
	[ "$st" -eq 0 ] || [ "$(_count fail)" -gt 0 ] || fail "$name: exit status $st"
}

pass() {
	_tally pass
	echo "ok - $1"
}

# fail NAME [detail...]: not ok; inside a case (run_tests) it ends the case.
fail() {
	local name=$1
	shift
	_tally fail
	echo "not ok - $name"
	[ $# -gt 0 ] && diag "$@"
	[ -n "$E2E_IN_CASE" ] && [ "${BASH_SUBSHELL:-0}" -gt 0 ] && exit 1
	return 0
}

# fail_next NAME [detail...]: not ok, but the case goes on (for loops that
# judge many items of one kind: every item gets its line).
fail_next() {
	local name=$1
	shift
	_tally fail
	echo "not ok - $name"
	[ $# -gt 0 ] && diag "$@"
	return 0
}

# skip NAME REASON: counts as passed for run.sh (TAP "# SKIP" directive).
skip() {
	_tally pass
	echo "ok - $1 # SKIP ${2:-}"
}

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: '$2'" "actual:   '$3'"
		return 1
	fi
}

# assert_match NAME REGEX TEXT (bash ERE)
assert_match() {
	if [[ $3 =~ $2 ]]; then
		pass "$1"
	else
		fail "$1" "expected to match: $2" "actual: '$3'"
		return 1
	fi
}

# assert_rc NAME EXPECTED_RC CMD...: runs CMD; its stdout is left in
# LAST_OUT and its stderr in LAST_ERR (both with trailing newlines
# stripped), its exit status in LAST_RC.
LAST_OUT='' LAST_ERR='' LAST_RC=0
assert_rc() {
	local name=$1 want=$2 errf
	shift 2
	errf=$(mktemp "${E2E_TMP:-/tmp}/rc.XXXXXX")
	LAST_OUT=$("$@" 2>"$errf")
	LAST_RC=$?
	LAST_ERR=$(cat "$errf")
	rm -f "$errf"
	if [ "$LAST_RC" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "command: $*" "expected exit $want, got $LAST_RC" \
			"stdout: $LAST_OUT" "stderr: $LAST_ERR"
		return 1
	fi
}

# assert_range NAME MIN MAX ACTUAL (integers)
assert_range() {
	if [[ $4 =~ ^-?[0-9]+$ ]] && [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected $2..$3" "actual: '$4'"
		return 1
	fi
}

# assert_true NAME CMD...: CMD succeeds (its output is not shown).
assert_true() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		pass "$name"
	else
		fail "$name" "command failed: $*"
		return 1
	fi
}

# wait_for TIMEOUT_SECONDS CMD...: retries CMD every 0.1 s until it succeeds.
wait_for() {
	local tries=$(($1 * 10))
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		tries=$((tries - 1))
		sleep 0.1
	done
	return 1
}

# bail REASON: not ok + stop the script (cleanup runs from the EXIT trap);
# inside a case, stop the case.
bail() {
	fail "$E2E_NAME: $1"
	exit 1
}

# e2e_done: summary comment, exit status 0 only if nothing failed.
e2e_done() {
	local p f
	p=$(_count pass) f=$(_count fail)
	diag "$E2E_NAME: $p ok, $f not ok"
	[ "$f" -eq 0 ] && exit 0
	exit 1
}

# ---- cases ---------------------------------------------------------------------

# e2e_on_case FUNC: FUNC begin|end runs (in the script's shell) around each
# case, to bring the next case back to a known state.
e2e_on_case() { E2E_CASE_HOOKS+=("$1"); }

# Background jobs a case left running: TERM (receivers print and exit), then
# KILL.
_bg_case_hook() {
	case $1 in
	begin) _BG_MARK=$(wc -l <"$E2E_TMP/.bg") ;;
	end)
		tail -n +$((_BG_MARK + 1)) "$E2E_TMP/.bg" >"$E2E_TMP/.bg.case"
		_stop_jobs "$E2E_TMP/.bg.case"
		;;
	esac
}

# run_tests: every case of E2E_TESTS (default ALL_TESTS) in turn, each in a
# subshell; then e2e_done. A case that ends with a status other than 0
# without a failed assertion (an unset variable, a helper that exited) is
# reported as not ok too.
run_tests() {
	local t h rc f0
	for t in ${E2E_TESTS:-${ALL_TESTS:-}}; do
		if [ "$(type -t "$t")" != function ]; then
			fail "$t: no such case"
			continue
		fi
		diag "--- $t"
		for h in "${E2E_CASE_HOOKS[@]}"; do "$h" begin; done
		f0=$(_count fail)
		(
			E2E_IN_CASE=$t
			"$t"
			exit 0
		)
		rc=$?
		if [ "$rc" -ne 0 ] && [ "$(_count fail)" -eq "$f0" ]; then
			fail "$t: ended with status $rc"
		fi
		for ((h = ${#E2E_CASE_HOOKS[@]} - 1; h >= 0; h--)); do
			"${E2E_CASE_HOOKS[h]}" end
		done
	done
	e2e_done
}

# e2e_start [NEED...]: the preamble of every script: set -u, LC_ALL=C,
# e2e_init, then each NEED: egr (the binary under test, egr_lib.sh),
# docker (dockerd, the test image, docker_lib.sh's helpers), or a command
# that must be installed (jq, gdb, promtool...).
e2e_start() {
	local n
	set -u
	export LC_ALL=C
	e2e_init
	for n in "$@"; do
		case $n in
		egr)
			need_egr
			# shellcheck source=tests/e2e/egr_lib.sh
			. "$E2E_LIB_DIR/egr_lib.sh"
			;;
		docker)
			# shellcheck source=tests/e2e/docker_lib.sh
			. "$E2E_LIB_DIR/docker_lib.sh"
			dk_setup
			;;
		*) command -v "$n" >/dev/null || bail "$n missing (tools/install-deps.sh)" ;;
		esac
	done
}

# e2e_on_exit FUNC: FUNC runs at exit (last registered first), before the
# namespaces and cgroups go.
e2e_on_exit() { E2E_EXIT_HOOKS+=("$1"); }

_e2e_exit() {
	local rc=$? i
	for ((i = ${#E2E_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		"${E2E_EXIT_HOOKS[i]}"
	done
	E2E_EXIT_HOOKS=()
	(exit "$rc")
	e2e_cleanup
}

# ---- setup and teardown ------------------------------------------------------

# Writes a sysctl through /proc (no procps needed). In netns NS if given.
_sysctl() { # NS|- KEY VALUE
	local f=/proc/sys/${2//.//}
	if [ "$1" = - ]; then
		echo "$3" >"$f"
	else
		# shellcheck disable=SC2016
		ip netns exec "$1" sh -c 'echo "$2" > "$1"' sh "$f" "$3"
	fi
}

_cg2_mount() {
	local mp
	# mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SRC SUPER
	mp=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
		    if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
	printf '%s\n' "$mp"
}

# _proc_start PID: its start time (field 22 of /proc/PID/stat); fails when
# it does not run. A reused pid has another start time.
_proc_start() {
	local l
	{ read -r l <"/proc/$1/stat"; } 2>/dev/null || return 1
	l=${l##*) }
	# shellcheck disable=SC2086 # the fields after "pid (comm) ": state is 1
	set -- $l
	[ -n "${20:-}" ] && echo "${20}"
}

# _e2e_owner: "PID STARTTIME" of this script's shell (sweep.sh's liveness test)
_e2e_owner() { echo "$$ $(_proc_start $$)"; }

# _env_pids DIR: the processes (but this shell) with E2E_TMP=DIR in their
# environment: a run's own, whatever became of their parents
_env_pids() {
	local e p
	for e in /proc/[0-9]*/environ; do
		p=${e#/proc/}
		p=${p%/environ}
		[ "$p" = "$$" ] && continue
		grep -qzxF "E2E_TMP=$1" "$e" 2>/dev/null && echo "$p"
	done
}

e2e_init() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "not ok - $E2E_NAME: needs root"
		exit 1
	fi
	EGR=${EGR_BIN:-$E2E_ROOT/build/egressctl}
	PEER=${EGR_TESTBIN:-$E2E_ROOT/build/tests}/peer
	E2E_ID=$(printf '%04x%04x' $(($$ & 0xffff)) $((RANDOM & 0xffff)))
	# made under a dot name, with its owner, then renamed: tests/e2e/sweep.sh
	# removes what a run that died without its exit trap left behind, and
	# must never see a live run's directory without its owner
	E2E_TMP=$(mktemp -d "/tmp/.egr-e2e-$E2E_ID.XXXXXX")
	_e2e_owner >"$E2E_TMP/.owner"
	mv -T "$E2E_TMP" "/tmp/${E2E_TMP#/tmp/.}" || {
		echo "not ok - $E2E_NAME: cannot rename $E2E_TMP"
		exit 1
	}
	E2E_TMP=/tmp/${E2E_TMP#/tmp/.}
	: >"$E2E_TMP/.netns"
	: >"$E2E_TMP/.cgroups"
	: >"$E2E_TMP/.bg"
	: >"$E2E_TMP/.addr"
	export EGR PEER E2E_ID E2E_TMP
	trap _e2e_exit EXIT
	e2e_on_case _bg_case_hook
	trap 'exit 130' INT
	trap 'exit 143' TERM

	[ -x "$PEER" ] || bail "helper $PEER missing (make test-build)"

	if ! awk '$5 == "/sys/fs/bpf" { f = 1 } END { exit !f }' /proc/self/mountinfo; then
		mkdir -p /sys/fs/bpf
		mount -t bpf bpf /sys/fs/bpf || bail "cannot mount bpffs at /sys/fs/bpf"
	fi

	CGROOT=$(_cg2_mount)
	if [ -z "$CGROOT" ]; then
		# no cgroup v2 mounted at all: mount a private one for the run
		CGROOT=/run/egr-e2e-cg2-$E2E_ID
		mkdir -p "$CGROOT"
		mount -t cgroup2 none "$CGROOT" || bail "no cgroup2 mount and cannot mount one"
		E2E_CG_MOUNTED=$CGROOT
	fi
	export CGROOT
	diag "$E2E_NAME: id $E2E_ID, cgroup2 at $CGROOT, tmp $E2E_TMP"
}

# need_egr: the egressctl binary must exist (fails the script otherwise).
need_egr() {
	[ -x "$EGR" ] || bail "egressctl binary $EGR missing (make)"
}

# e2e_cleanup: kills background jobs, deletes this run's namespaces, veths
# and cgroups. Idempotent; runs from the EXIT trap.
e2e_cleanup() {
	local rc=$? pid ns cg d i
	[ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ] || return "$rc"

	# background jobs: TERM (receivers print and exit), then KILL
	_stop_jobs "$E2E_TMP/.bg"

	# any other background job of the script (cmd &)
	for pid in $(jobs -p); do
		_kill_tree TERM "$pid"
	done

	# namespaces (newest first) and their veths
	tac "$E2E_TMP/.netns" | while read -r ns; do
		[ -n "$ns" ] && _netns_del "$ns"
	done

	# cgroups (newest first, children before parents): evict, then rmdir
	tac "$E2E_TMP/.cgroups" | while read -r cg; do
		[ -d "$cg" ] || continue
		find "$cg" -depth -type d 2>/dev/null | while read -r d; do
			_cg_evict "$d"
			for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
				rmdir "$d" 2>/dev/null && break
				[ -d "$d" ] || break
				_cg_evict "$d"
				sleep 0.1
			done
			[ -d "$d" ] && echo "# cleanup: could not remove cgroup $d"
		done
	done

	if [ -n "$E2E_CG_MOUNTED" ]; then
		umount "$E2E_CG_MOUNTED" 2>/dev/null && rmdir "$E2E_CG_MOUNTED" 2>/dev/null
		E2E_CG_MOUNTED=
	fi
	if [ -n "${E2E_KEEP:-}" ]; then
		echo "# kept $E2E_TMP"
		rm -f "$E2E_TMP/.netns" "$E2E_TMP/.cgroups" "$E2E_TMP/.bg"
		: >"$E2E_TMP/.kept" # not a run that died: sweep.sh leaves it
	else
		rm -rf "$E2E_TMP"
	fi
	E2E_TMP=
	return "$rc"
}

# ---- network namespaces ------------------------------------------------------

_ip4_int() {
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	echo $((($1 << 24) | ($2 << 16) | ($3 << 8) | $4))
}

_int_ip4() {
	echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# network address + 1 of A.B.C.D/LEN
_ip4_first() {
	local a=${1%/*} len=${1#*/} ip mask
	ip=$(_ip4_int "$a")
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	_int_ip4 $(((ip & mask) + 1))
}

# IPv6 literal -> 8 decimal groups (no embedded IPv4 form)
_ip6_groups() {
	local a=$1 head tail i
	local -a h=() t=() res=()
	if [[ $a == *::* ]]; then
		head=${a%%::*}
		tail=${a#*::}
	else
		head=$a
		tail=
	fi
	[ -n "$head" ] && IFS=: read -ra h <<<"$head"
	[ -n "$tail" ] && IFS=: read -ra t <<<"$tail"
	for i in "${h[@]}"; do res+=($((16#$i))); done
	for ((i = ${#h[@]} + ${#t[@]}; i < 8; i++)); do res+=(0); done
	for i in "${t[@]}"; do res+=($((16#$i))); done
	echo "${res[@]}"
}

# 8 decimal groups -> compressed IPv6 literal (RFC 5952 style)
_ip6_format() {
	local -a g=("$@")
	local i best=-1 bestlen=1 run=-1 runlen=0 s=
	for ((i = 0; i < 8; i++)); do
		if [ "${g[i]}" -eq 0 ]; then
			[ "$run" -lt 0 ] && run=$i runlen=0
			runlen=$((runlen + 1))
			if [ "$runlen" -gt "$bestlen" ]; then
				best=$run
				bestlen=$runlen
			fi
		else
			run=-1
		fi
	done
	for ((i = 0; i < 8; i++)); do
		if [ "$best" -ge 0 ] && [ "$i" -eq "$best" ]; then
			s+="::"
			i=$((i + bestlen - 1))
			continue
		fi
		[ -n "$s" ] && [ "${s: -1}" != ":" ] && s+=":"
		s+=$(printf '%x' "${g[i]}")
	done
	echo "$s"
}

# network address + 1 of ADDR/LEN
_ip6_first() {
	local a=${1%/*} len=${1#*/} i bits
	local -a g
	read -ra g <<<"$(_ip6_groups "$a")"
	for ((i = 0; i < 8; i++)); do
		bits=$((len - i * 16))
		if [ "$bits" -le 0 ]; then
			g[i]=0
		elif [ "$bits" -lt 16 ]; then
			g[i]=$((g[i] & ((0xffff << (16 - bits)) & 0xffff)))
		fi
	done
	g[7]=$((g[7] + 1))
	_ip6_format "${g[@]}"
}

_ip6_norm() {
	local -a g
	read -ra g <<<"$(_ip6_groups "$1")"
	_ip6_format "${g[@]}"
}

# The suite's traffic rule, enforced: test addresses are 198.18.0.0/15 or
# 2001:db8::/32 (documentation/benchmark ranges), nothing else.
_addr_allowed() {
	local a=${1%/*}
	local -a g
	if [[ $a == *:* ]]; then
		read -ra g <<<"$(_ip6_groups "$a")"
		[ "${g[0]}" -eq $((16#2001)) ] && [ "${g[1]}" -eq $((16#db8)) ]
	else
		[[ $a =~ ^198\.1[89]\.[0-9]+\.[0-9]+$ ]]
	fi
}

_netns_del() {
	local ns=$1
	ip link del "h-$ns" 2>/dev/null
	if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns"; then
		local pids
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	fi
}

# nsx NAME CMD...: run CMD in netns NAME ("-" or "" = this namespace).
nsx() {
	local ns=$1
	shift
	if [ -z "$ns" ] || [ "$ns" = - ]; then
		"$@"
	else
		ip netns exec "$ns" "$@"
	fi
}

# netns_up NAME ADDR4/LEN ADDR6/LEN [HOST4 HOST6]
# Creates netns NAME with a veth pair: host side "h-NAME" gets the first
# address of each prefix (.1 / ::1) unless HOST4/HOST6 are given, the ns side
# "eth0" gets ADDR4 / ADDR6. Either address may be "-" to skip that family.
# The ns routes everything via the host side; the host reaches the prefix
# through h-NAME. Waits (bounded) until the host can ping the ns.
# NAME: at most 13 characters of [A-Za-z0-9_-] (interface name limit).
netns_up() {
	local ns=$1 a4=${2:--} a6=${3:--} h4=${4:-} h6=${5:-} hv=h-$1 i
	[[ $ns =~ ^[A-Za-z0-9_-]{1,13}$ ]] || bail "netns_up: bad name '$ns'"
	if [ "$a4" != - ]; then
		[[ $a4 == */* ]] || a4=$a4/24
		[ -n "$h4" ] || h4=$(_ip4_first "$a4")
		if ! _addr_allowed "$a4" || ! _addr_allowed "$h4"; then
			bail "netns_up: $a4 / $h4 outside 198.18.0.0/15"
		fi
	fi
	if [ "$a6" != - ]; then
		[[ $a6 == */* ]] || a6=$a6/64
		[ -n "$h6" ] || h6=$(_ip6_first "$a6")
		if ! _addr_allowed "$a6" || ! _addr_allowed "$h6"; then
			bail "netns_up: $a6 / $h6 outside 2001:db8::/32"
		fi
	fi

	# a stale namespace of the same name (an earlier run that crashed)
	if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" ||
		ip link show "$hv" >/dev/null 2>&1; then
		diag "netns_up: removing stale $ns / $hv"
		_netns_del "$ns"
	fi

	ip netns add "$ns" || bail "netns_up: ip netns add $ns failed"
	echo "$ns" >>"$E2E_TMP/.netns"
	ip link add "$hv" type veth peer name eth0 netns "$ns" ||
		bail "netns_up: veth $hv failed"

	# Before any link is up: no IPv6 DAD (addresses, link-local included,
	# usable at once), no router solicitations, no reverse-path filtering
	# (extra addresses inside the ns are routed by /32 host routes).
	local k
	for k in disable_ipv6=0 accept_dad=0 dad_transmits=0 accept_ra=0 router_solicitations=0; do
		_sysctl - "net.ipv6.conf.$hv.${k%=*}" "${k#*=}" 2>/dev/null
		_sysctl "$ns" "net.ipv6.conf.eth0.${k%=*}" "${k#*=}" 2>/dev/null
		_sysctl "$ns" "net.ipv6.conf.default.${k%=*}" "${k#*=}" 2>/dev/null
	done
	_sysctl - "net.ipv4.conf.$hv.rp_filter" 0 2>/dev/null
	_sysctl "$ns" net.ipv4.conf.all.rp_filter 0 2>/dev/null
	_sysctl "$ns" net.ipv4.conf.eth0.rp_filter 0 2>/dev/null

	ip netns exec "$ns" ip link set lo up
	if [ "$a4" != - ]; then
		ip addr add "$h4/${a4#*/}" dev "$hv" || bail "netns_up: host addr $h4"
		ip netns exec "$ns" ip addr add "$a4" dev eth0 || bail "netns_up: ns addr $a4"
	fi
	if [ "$a6" != - ]; then
		ip -6 addr add "$h6/${a6#*/}" dev "$hv" nodad || bail "netns_up: host addr $h6"
		ip netns exec "$ns" ip -6 addr add "$a6" dev eth0 nodad ||
			bail "netns_up: ns addr $a6"
	fi
	ip link set "$hv" up
	ip netns exec "$ns" ip link set eth0 up
	[ "$a4" != - ] && ip netns exec "$ns" ip route add default via "$h4" dev eth0
	[ "$a6" != - ] && ip netns exec "$ns" ip -6 route add default via "$h6" dev eth0

	# remember the addresses (files: works from subshells too)
	local st=$E2E_TMP/.ns.$ns
	if [ "$a4" != - ]; then
		echo "${a4%/*}" >"$st.ip4"
		echo "$h4" >"$st.host4"
		addr_register "${a4%/*}" "$ns" "$h4"
		addr_register "$h4" - "${a4%/*}"
	fi
	if [ "$a6" != - ]; then
		_ip6_norm "${a6%/*}" >"$st.ip6"
		echo "$h6" >"$st.host6"
		addr_register "${a6%/*}" "$ns" "$h6"
		addr_register "$h6" - "${a6%/*}"
	fi

	# bounded wait: 20 x (ping -W 1)
	if [ "$a4" != - ]; then
		for i in $(seq 20); do
			ping -c 1 -W 1 -q "${a4%/*}" >/dev/null 2>&1 && break
			[ "$i" -eq 20 ] && bail "netns_up: $ns not reachable at ${a4%/*}"
			sleep 0.1
		done
	fi
	if [ "$a6" != - ]; then
		for i in $(seq 20); do
			ping -6 -c 1 -W 1 -q "${a6%/*}" >/dev/null 2>&1 && break
			[ "$i" -eq 20 ] && bail "netns_up: $ns not reachable at ${a6%/*}"
			sleep 0.1
		done
	fi
	return 0
}

# netns_addr NAME ADDR/LEN: one more address on the ns's eth0, so one
# receiver can own several destinations. If the host has no route to it
# through h-NAME yet, a host route (/32, /128) via the ns is added.
netns_addr() {
	local ns=$1 a=$2 addr v6=0 via
	[[ $a == */* ]] || { [[ $a == *:* ]] && a=$a/128 || a=$a/32; }
	addr=${a%/*}
	[[ $addr == *:* ]] && v6=1
	_addr_allowed "$addr" || bail "netns_addr: $addr outside 198.18.0.0/15 and 2001:db8::/32"
	if [ "$v6" -eq 1 ]; then
		ip netns exec "$ns" ip -6 addr add "$a" dev eth0 nodad ||
			bail "netns_addr: $a in $ns"
		if ! ip -6 -o route get "$addr" 2>/dev/null | grep -q " dev h-$ns "; then
			via=$(cat "$E2E_TMP/.ns.$ns.ip6" 2>/dev/null) || bail "netns_addr: $ns has no IPv6"
			ip -6 route replace "$addr/128" via "$via" dev "h-$ns" ||
				bail "netns_addr: route to $addr"
		fi
		wait_for 10 ping -6 -c 1 -W 1 -q "$addr" || bail "netns_addr: $addr not reachable"
		addr_register "$addr" "$ns" "$(cat "$E2E_TMP/.ns.$ns.host6")"
	else
		ip netns exec "$ns" ip addr add "$a" dev eth0 || bail "netns_addr: $a in $ns"
		if ! ip -o route get "$addr" 2>/dev/null | grep -q " dev h-$ns "; then
			via=$(cat "$E2E_TMP/.ns.$ns.ip4" 2>/dev/null) || bail "netns_addr: $ns has no IPv4"
			ip route replace "$addr/32" via "$via" dev "h-$ns" ||
				bail "netns_addr: route to $addr"
		fi
		wait_for 10 ping -c 1 -W 1 -q "$addr" || bail "netns_addr: $addr not reachable"
		addr_register "$addr" "$ns" "$(cat "$E2E_TMP/.ns.$ns.host4")"
	fi
}

# addr_register ADDR NS SRC: ADDR lives in netns NS ("-": this one); SRC is
# the address a sender in this namespace has there (for icmp-recv -s).
addr_register() {
	local a=$1
	[[ $a == *:* ]] && a=$(_ip6_norm "$a")
	echo "$a $2 $3" >>"$E2E_TMP/.addr"
}

# addr_where ADDR: "NS SRC" of a registered address, nothing if unknown.
addr_where() {
	local a=$1
	[[ $a == *:* ]] && a=$(_ip6_norm "$a")
	awk -v a="$a" '$1 == a { r = $2 " " $3 } END { if (r != "") print r }' "$E2E_TMP/.addr"
}

# Addresses of a namespace made by netns_up (no prefix length).
ns_ip4() { cat "$E2E_TMP/.ns.$1.ip4"; }
ns_ip6() { cat "$E2E_TMP/.ns.$1.ip6"; }
host_ip4() { cat "$E2E_TMP/.ns.$1.host4"; }
host_ip6() { cat "$E2E_TMP/.ns.$1.host6"; }

# ---- cgroups -----------------------------------------------------------------

_cg_evict() {
	local p
	[ -f "$1/cgroup.procs" ] || return 0
	while read -r p; do
		echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null
	done <"$1/cgroup.procs"
}

# e2e_guard_mine: the guard installed now (by the command just run) is this
# run's: tests/e2e/sweep.sh removes that very guard (its bpffs inode), and
# not one installed later on the same cgroup, if the run dies without its
# exit hooks. A guard on a cgroup whose name holds the run's id needs no
# call.
e2e_guard_mine() {
	local ino
	ino=$(stat -c %i /sys/fs/bpf/egressctl/guard 2>/dev/null) || return 0
	echo "$ino" >>"$E2E_TMP/.guards"
}

# cg_new NAME: creates $CGROOT/egr-e2e-<id>-NAME and prints its path.
cg_new() {
	local cg=$CGROOT/egr-e2e-$E2E_ID-$1
	mkdir "$cg" || bail "cg_new: mkdir $cg"
	echo "$cg" >>"$E2E_TMP/.cgroups"
	echo "$cg"
}

# cg_run CGPATH CMD...: runs CMD (a program, not a shell function) with its
# process moved into CGPATH first. Exit 125 if the move failed.
cg_run() {
	local cg=$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" || exit 125; shift; exec "$@"' cg_run "$cg" "$@"
}

# ---- background jobs ---------------------------------------------------------

# _running PIDFILE...: a run_bg job of these is still running
_running() {
	local pidf
	for pidf in "$@"; do
		[ -f "$pidf" ] && [ ! -e "${pidf%.pid}.rc" ] && return 0
	done
	return 1
}

# _stop_jobs LIST: the run_bg jobs whose pid files LIST names: TERM
# (receivers print and exit), a bounded wait, then KILL.
_stop_jobs() {
	local pidf sig
	local -a pids=()
	mapfile -t pids <"$1"
	[ ${#pids[@]} -gt 0 ] || return 0
	for sig in TERM KILL; do
		for pidf in "${pids[@]}"; do
			_running "$pidf" && _kill_tree "$sig" "$(cat "$pidf")"
		done
		[ "$sig" = TERM ] && wait_for 3 eval '! _running "${pids[@]}"'
	done
	return 0
}

# _alive PID: running (a zombie has exited)
_alive() {
	local l
	{ read -r l <"/proc/$1/stat"; } 2>/dev/null || return 1
	l=${l##*) } # after "pid (comm) ": the state
	[ "${l%% *}" != Z ]
}
# _kill_tree SIGNAL PID: signals PID and, first, all its descendants.
_kill_tree() {
	local sig=$1 pid=$2 c i kids
	kids=$(pgrep -P "$pid" 2>/dev/null)
	for c in $kids; do
		_kill_tree "$sig" "$c"
	done
	# the children first, gone (bounded) before their parent is told: a
	# subshell running a function dies at once on TERM, and its .rc would
	# come before the child has written its last line
	for c in $kids; do
		for i in $(seq 50); do
			_alive "$c" || break
			sleep 0.1
		done
	done
	kill "-$sig" "$pid" 2>/dev/null
}

# run_bg NS OUT CMD...: starts CMD in netns NS ("-" = here) in the
# background; stdout to OUT, stderr to OUT.err, exit status to OUT.rc.
# BG_PID is the command's pid.
run_bg() {
	local ns=$1 out=$2
	shift 2
	rm -f "$out" "$out.err" "$out.rc" "$out.pid" "$out.ready"
	(
		trap - EXIT INT TERM
		# A program runs as the recorded pid itself (ip netns exec and the
		# background fork both exec it); a shell function runs in a
		# subshell, its children are reached by _kill_tree.
		if [ -z "$ns" ] || [ "$ns" = - ]; then
			"$@" >"$out" 2>"$out.err" &
		elif [ "$(type -t "$1")" = function ]; then
			nsx "$ns" "$@" >"$out" 2>"$out.err" &
		else
			ip netns exec "$ns" "$@" >"$out" 2>"$out.err" &
		fi
		echo $! >"$out.pid"
		wait $!
		{ echo $? >"$out.rc"; } 2>/dev/null
	) &
	local i
	for i in $(seq 50); do
		[ -s "$out.pid" ] && break
		sleep 0.02
	done
	BG_PID=$(cat "$out.pid" 2>/dev/null)
	export BG_PID
	echo "$out.pid" >>"$E2E_TMP/.bg"
}

# peer_bg NS OUT SUBCOMMAND ARGS...: runs "$PEER SUBCOMMAND ARGS" like run_bg
# and waits (bounded, 15 s) until its socket is bound (peer -r). Returns 1 if not.
peer_bg() {
	local ns=$1 out=$2
	shift 2
	run_bg "$ns" "$out" "$PEER" "$@" -r "$out.ready"
	wait_for 15 test -e "$out.ready" && return 0
	diag "peer_bg: $* not ready: $(cat "$out.err" 2>/dev/null)"
	return 1
}

# wait_bg OUT [TIMEOUT=60]: waits for the job writing OUT, prints its stdout
# (trailing newline stripped by $(...)), returns its exit status. Usable in
# $(...). On timeout the job gets SIGTERM (peer then prints what it counted),
# then SIGKILL.
wait_bg() {
	local out=$1 tries=$((${2:-60} * 10)) pid
	while [ ! -e "$out.rc" ] && [ "$tries" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	if [ ! -e "$out.rc" ]; then
		pid=$(cat "$out.pid" 2>/dev/null)
		echo "# wait_bg: $out timed out, stopping pid $pid" >&2
		[ -n "$pid" ] && _kill_tree TERM "$pid"
		tries=30
		while [ ! -e "$out.rc" ] && [ "$tries" -gt 0 ]; do
			sleep 0.1
			tries=$((tries - 1))
		done
		if [ ! -e "$out.rc" ] && [ -n "$pid" ]; then
			_kill_tree KILL "$pid"
			sleep 0.2
		fi
	fi
	cat "$out" 2>/dev/null
	local rc
	rc=$(cat "$out.rc" 2>/dev/null)
	return "${rc:-124}"
}

# flow checks and streams
# shellcheck source=tests/e2e/flow_lib.sh
. "$E2E_LIB_DIR/flow_lib.sh"
