# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# Sourced by lib.sh: the one-line flow checks (expect_udp, expect_tcp,
# expect_ping), the event-driven streams (stream_start, stream_wait,
# stream_stop) and recv_done. They use lib.sh's namespaces (addr_where),
# cgroups (cg_run) and background jobs (peer_bg, run_bg, wait_bg).

# ---- flow checks -----------------------------------------------------------------
# One line per flow, counted at a receiver in the destination's namespace
# (known from netns_up / netns_addr / addr_register):
#   expect_udp  pass|drop DEST PORT [OPTS]   udp-send of -n N (10) datagrams
#   expect_tcp  pass|drop DEST PORT [OPTS]   one tcp-send of -l LEN (1000) bytes
#   expect_ping pass|drop DEST [OPTS]        ping -c N (3)
# OPTS: --from CG|docker:NAME|podman:NAME|- (the sender; default:
# expect_from's), --in NS
# (the sender runs in netns NS), -n N, -l LEN, -i USEC (udp), -t SECS (tcp),
# -m NAME (the name of the ok lines; default "PROTO to DEST:PORT from X").
# pass: the sender got everything out, the receiver counted exactly that.
# drop: the sender was refused (EPERM for udp, a connect refused at once by
# the socket hook for tcp, no reply for ping), and the receiver counted
# nothing. For udp and tcp
# "nothing" is an event too: after the refused sends, a fence (1 byte, from
# this shell, unfiltered) is sent the same way, and the receiver must count
# the fence alone.

EXPECT_FROM=-
# expect_from CG|docker:NAME|podman:NAME|-: the default sender of the flow
# checks.
expect_from() { EXPECT_FROM=$1; }

_x_opts() {
	X_FROM=$EXPECT_FROM X_IN='' X_N='' X_LEN='' X_I='' X_T='' X_NAME=''
	while [ $# -gt 0 ]; do
		case $1 in
		--from) X_FROM=$2 ;;
		--in) X_IN=$2 ;;
		-n) X_N=$2 ;;
		-l) X_LEN=$2 ;;
		-i) X_I=$2 ;;
		-t) X_T=$2 ;;
		-m) X_NAME=$2 ;;
		*)
			fail "flow check: unknown option '$1'"
			return 1
			;;
		esac
		shift 2
	done
}

# _x_cmd PROGRAM: X_CMD, the command line that runs PROGRAM (peer or ping)
# as the sender X_FROM / X_IN.
_x_cmd() {
	local prog=$1
	case $X_FROM in
	docker:*)
		X_CMD=(timeout 60 docker exec "${X_FROM#docker:}" "$prog")
		return
		;;
	podman:*)
		X_CMD=(timeout 60 podman exec "${X_FROM#podman:}" "$prog")
		return
		;;
	esac
	[ "$prog" = peer ] && prog=$PEER
	X_CMD=()
	[ "$X_FROM" != - ] && X_CMD=(cg_run "$X_FROM")
	[ -n "$X_IN" ] && X_CMD+=(ip netns exec "$X_IN")
	X_CMD+=("$prog")
}

_x_label() {
	case $X_FROM in
	-) echo "${X_IN:-host}" ;;
	docker:* | podman:*) echo "${X_FROM#*:}" ;;
	*) echo "${X_FROM##*/egr-e2e-"$E2E_ID"-}" ;;
	esac
}

# _x_where DEST: X_NS, the namespace of DEST's receiver, and X_SRC, the
# sender's address as the receiver sees it (for icmp-recv -s).
_x_where() {
	local w
	case $1 in
	127.* | ::1)
		[[ $X_FROM == docker:* || $X_FROM == podman:* ]] && return 1
		X_NS=${X_IN:--} X_SRC=$1
		return 0
		;;
	esac
	w=$(addr_where "$1")
	[ -n "$w" ] || return 1
	X_NS=${w% *} X_SRC=${w#* }
}

# _x_send ARGS...: the sender (X_CMD) with ARGS; X_OUT, X_ERR, X_RC.
_x_send() {
	local errf
	errf=$(mktemp "$E2E_TMP/send.XXXXXX")
	X_OUT=$("${X_CMD[@]}" "$@" 2>"$errf")
	X_RC=$?
	X_ERR=$(cat "$errf")
	rm -f "$errf"
}

# _x_fence DEST ARGS...: the fence, from this shell (in X_NS for a loopback
# destination).
_x_fence() {
	local ns=-
	case $1 in 127.* | ::1) ns=$X_NS ;; esac
	nsx "$ns" "$PEER" "${@:2}" >/dev/null 2>&1
}

# _x_begin LABEL DEST [OPTS...]: the options, then X_NAME (default "LABEL
# from SENDER"), X_NS / X_SRC (_x_where), X_V6 (-6 for an IPv6 DEST) and
# X_RX (the receiver's output file). 1, with a not ok line, if DEST has no
# receiver.
_x_begin() {
	local label=$1 dest=$2
	shift 2
	_x_opts "$@" || return 1
	X_NAME=${X_NAME:-"$label from $(_x_label)"}
	_x_where "$dest" || { fail "$X_NAME: no receiver for $dest"; return 1; }
	X_V6=''
	[[ $dest == *:* ]] && X_V6=-6
	X_RX=$(mktemp -u "$E2E_TMP/rx.XXXXXX")
}

# _x_recv ARGS...: the receiver (peer ARGS, with -6 for IPv6) in X_NS.
_x_recv() {
	peer_bg "$X_NS" "$X_RX" "$1" $X_V6 "${@:2}" && return 0
	fail "$X_NAME: receiver ready"
}

expect_udp() {
	local verdict=$1 dest=$2 port=$3 got eperm
	shift 3
	_x_begin "udp to $dest:$port" "$dest" "$@" || return 1
	X_N=${X_N:-10} X_LEN=${X_LEN:-64}
	# pass: it stops by itself at N; drop: at the fence
	_x_recv udp-recv "$port" 60 -b -n "$([ "$verdict" = pass ] && echo "$X_N" || echo 1)" || return 1
	_x_cmd peer
	local -a opt=(-l "$X_LEN")
	[ -n "$X_I" ] && opt+=(-i "$X_I")
	_x_send udp-send "$dest" "$port" "$X_N" "${opt[@]}"
	if [ "$verdict" = pass ]; then
		assert_eq "$X_NAME: sent $X_N" "sent $X_N errors 0" "$X_OUT" || return 1
		got=$(wait_bg "$X_RX" 30)
		assert_eq "$X_NAME: received $X_N" "$X_N $((X_N * X_LEN))" "$got"
	else
		eperm=no
		[[ $X_ERR == *"Operation not permitted"* ]] && eperm=EPERM
		assert_eq "$X_NAME: $X_N sends refused (EPERM)" "sent 0 errors $X_N EPERM" "$X_OUT $eperm" ||
			return 1
		_x_fence "$dest" udp-send "$dest" "$port" 1 -l 1
		got=$(wait_bg "$X_RX" 30)
		assert_eq "$X_NAME: nothing received (the fence alone)" "1 1" "$got"
	fi
}

expect_tcp() {
	local verdict=$1 dest=$2 port=$3 got
	shift 3
	_x_begin "tcp to $dest:$port" "$dest" "$@" || return 1
	X_LEN=${X_LEN:-1000}
	_x_recv tcp-recv "$port" 60 -n 1 || return 1
	_x_cmd peer
	if [ "$verdict" = pass ]; then
		_x_send tcp-send "$dest" "$port" -l "$X_LEN" -t "${X_T:-10}"
		assert_eq "$X_NAME: connected, sent $X_LEN bytes" "0 connected" "$X_RC $X_OUT" || return 1
		got=$(wait_bg "$X_RX" 30)
		assert_eq "$X_NAME: received 1 connection, $X_LEN bytes" "1 $X_LEN" "$got"
	else
		_x_send tcp-send "$dest" "$port" -l "$X_LEN" -t "${X_T:-1.5}"
		assert_eq "$X_NAME: connect refused at once" "connect: Connection refused" "$X_OUT" ||
			return 1
		_x_fence "$dest" tcp-send "$dest" "$port" -l 1 -t 10
		got=$(wait_bg "$X_RX" 30)
		assert_eq "$X_NAME: no connection received (the fence alone)" "1 1" "$got"
	fi
}

expect_ping() {
	local verdict=$1 dest=$2 got
	shift 2
	_x_begin "ping $dest" "$dest" "$@" || return 1
	X_N=${X_N:-3}
	if [ "$verdict" = pass ]; then
		_x_recv icmp-recv 60 -s "$X_SRC" -n "$X_N" || return 1
	else
		_x_recv icmp-recv 60 -s "$X_SRC" || return 1
	fi
	_x_cmd ping
	_x_send $X_V6 -c "$X_N" -i 0.2 -W 2 -q "$dest"
	if [ "$verdict" = pass ]; then
		assert_eq "$X_NAME: $X_N replies" "0 $X_N received" \
			"$X_RC $(grep -o '[0-9]* received' <<<"$X_OUT")" || return 1
		got=$(wait_bg "$X_RX" 30)
		assert_eq "$X_NAME: $X_N echo requests received" "$X_N" "$got"
	else
		assert_eq "$X_NAME: no reply" "1 0 received" \
			"$X_RC $(grep -o '[0-9]* received' <<<"$X_OUT")" || return 1
		# ping waited for the replies: a request that got out has arrived
		_kill_tree TERM "$(cat "$X_RX.pid")"
		got=$(wait_bg "$X_RX" 10)
		assert_eq "$X_NAME: no echo request received" 0 "$got"
	fi
}

# ---- streams -----------------------------------------------------------------------
# One UDP socket sending to a receiver until stopped, both writing their
# counts as they change (peer -p), for live edits under traffic: a test
# waits for events (stream_wait), never for a time.

# stream_start NAME DEST PORT [--from CG] [-i USEC (10000)]
stream_start() {
	local name=$1 dest=$2 port=$3 f
	shift 3
	f=$E2E_TMP/stream.$name
	_x_begin "stream $name" "$dest" "$@" || return 1
	X_RX=$f.rx
	_x_recv udp-recv "$port" 900 -p "$f.rxp" || return 1
	_x_cmd peer
	run_bg - "$f.tx" "${X_CMD[@]}" udp-send "$dest" "$port" 100000000 -i "${X_I:-10000}" \
		-t 600 -p "$f.txp"
	wait_for 30 test -e "$f.txp" || { fail "stream $name: sender started"; return 1; }
}

# stream_count NAME sent|errors|rx: the count so far.
stream_count() {
	local f=$E2E_TMP/stream.$1 l=''
	local -a w
	if [ "$2" = rx ]; then
		read -r l _ <"$f.rxp" 2>/dev/null
		echo "${l:-0}"
		return
	fi
	read -r l <"$f.txp" 2>/dev/null
	read -r -a w <<<"${l:-sent 0 errors 0}"
	if [ "$2" = sent ]; then echo "${w[1]}"; else echo "${w[3]}"; fi
}

_stream_ge() { [ "$(stream_count "$1" "$2")" -ge "$3" ]; }

# stream_wait NAME sent|errors|rx MIN [SECONDS=30]: until that count is at
# least MIN; 1 if it never was.
stream_wait() {
	wait_for "${4:-30}" _stream_ge "$1" "$2" "$3" && return 0
	diag "stream $1: $2 never reached $3 (sender: $(cat "$E2E_TMP/stream.$1.txp" 2>/dev/null), receiver: $(cat "$E2E_TMP/stream.$1.rxp" 2>/dev/null))"
	return 1
}

# stream_stop NAME: stops the sender, waits (bounded) until the receiver
# has counted what it got through, stops the receiver. STREAM_SENT,
# STREAM_ERRORS, STREAM_RX: the final counts.
stream_stop() {
	local f=$E2E_TMP/stream.$1 out
	_kill_tree TERM "$(cat "$f.tx.pid")"
	out=$(wait_bg "$f.tx" 15)
	read -r _ STREAM_SENT _ STREAM_ERRORS <<<"$out"
	STREAM_SENT=${STREAM_SENT:-0} STREAM_ERRORS=${STREAM_ERRORS:-0}
	wait_for 15 _stream_ge "$1" rx "$STREAM_SENT"
	_kill_tree TERM "$(cat "$f.rx.pid")"
	STREAM_RX=$(wait_bg "$f.rx" 15)
	diag "stream $1: sent $STREAM_SENT, refused $STREAM_ERRORS, received $STREAM_RX"
}

# recv_done OUT DEST PORT COUNT: ends a udp-recv started with -b -p OUT.p
# that should have counted COUNT datagrams: a 1-byte fence from this shell
# to DEST:PORT, a bounded wait until the receiver counted COUNT + 1, then it
# is stopped; prints its "COUNT BYTES". A datagram that should not have
# arrived shows in the bytes (or in the count).
recv_done() {
	local out=$1 dest=$2 port=$3 want=$(($4 + 1))
	"$PEER" udp-send "$dest" "$port" 1 -l 1 >/dev/null 2>&1
	wait_for 15 _recv_ge "$out.p" "$want"
	_kill_tree TERM "$(cat "$out.pid")"
	wait_bg "$out" 15
}
_recv_ge() {
	local n=0
	read -r n _ <"$1" 2>/dev/null
	[ "${n:-0}" -ge "$2" ]
}
