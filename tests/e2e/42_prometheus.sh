#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `egressctl serve`: /metrics (promtool-clean, the exposition content type),
# /healthz, 404 and 405, IPv6 listening, a clean exit on SIGTERM; bad
# --listen values, a port in use and an address not on this host fail with
# one clear line. A real Prometheus on loopback scrapes it every second: the
# values Prometheus stores are exactly the packets and bytes sent from the
# cgroup (and the rule hits), with the counter type from the HELP/TYPE
# metadata. Scrapes with 10, 1000 and 10000 rules give one series per rule
# and pass promtool; their time is measured (diag only: `make bench` has
# the numbers).
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr prometheus promtool curl jq ss

ALL_TESTS="test_serve_http test_serve_ipv6 test_serve_bad_listen test_serve_sigterm
	test_prometheus_scrapes test_scrape_many_rules"

S=${E2E_ID:2:6}
NA=k42a$S
netns_up "$NA" 198.18.242.2/24 2001:db8:242::2/64
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA")
T=$E2E_TMP

# serve_bg OUT ARGS...: start `egressctl serve ARGS` (run_bg); once it
# listens, SERVE_PORT is the port it printed. Returns 1 if it does not.
serve_bg() {
	local out=$1
	shift
	SERVE_PORT=
	run_bg - "$out" "$EGR" serve "$@"
	wait_for 15 grep -q '^serving metrics on ' "$out" || {
		diag "serve $*: $(cat "$out.err" 2>/dev/null)"
		return 1
	}
	SERVE_PORT=$(sed -n 's|^serving metrics on http://.*:\([0-9]*\)/metrics$|\1|p' "$out")
	[ -n "$SERVE_PORT" ]
}

# free_port: a loopback TCP port nothing listens on (bounded tries).
free_port() {
	local i p
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
	done
	return 1
}

# gen_policy N FILE: N rules (IPv4 /32 allows in 198.18.0.0/16 with one tcp
# port each, every fourth an IPv6 /48 deny); no traffic goes to them.
gen_policy() {
	awk -v n="$1" 'BEGIN { print "default: deny"; print "rules:"
		for (i = 0; i < n; i++)
			if (i % 4 == 3) printf "  - deny: 2001:db8:%x::/48\n", i
			else printf "  - allow: 198.18.%d.%d\n    ports: [tcp:%d]\n",
				int(i / 256) % 256, i % 256, 1 + i % 3 }' >"$2"
}

# target NAME [ATTACH OPTS]: egr_new, an allow rule for udp:7000 to A's /24
target() {
	egr_new "$@"
	rel=${TCG#"$CGROOT"}
	assert_rc "$1: allow 198.18.242.0/24 udp:7000" 0 "$EGR" allow "$TGT" 198.18.242.0/24 udp:7000
}

test_serve_http() {
	local U out
	target http
	serve_bg "$T/srv" --listen 127.0.0.1:0 || fail "serve did not start"
	pass "serve listens (port $SERVE_PORT)"
	U=http://127.0.0.1:$SERVE_PORT
	assert_eq "GET /healthz: 200 ok" "200 ok" \
		"$(curl -s -m 30 -o "$T/h" -w '%{http_code}' "$U/healthz") $(cat "$T/h")"
	assert_eq "GET /metrics: 200, exposition content type" \
		"200 text/plain; version=0.0.4; charset=utf-8" \
		"$(curl -s -m 30 -o "$T/metrics" -w '%{http_code} %{content_type}' "$U/metrics")"
	if out=$(promtool check metrics <"$T/metrics" 2>&1); then
		pass "GET /metrics passes promtool check metrics"
	else
		fail "GET /metrics passes promtool check metrics" "$out"
	fi
	assert_eq "GET /metrics has our target" 1 \
		"$(mval "$T/metrics" "egressctl_attached{target=\"cgroup:$rel\",cgroup=\"$rel\"}")"
	assert_eq "GET /nope: 404" 404 "$(curl -s -m 30 -o /dev/null -w '%{http_code}' "$U/nope")"
	assert_eq "POST /metrics: 405 with Allow" "405 GET, HEAD" \
		"$(curl -s -m 30 -D "$T/hdr" -o /dev/null -w '%{http_code}' -X POST -d x=1 "$U/metrics") $(sed -n 's/^Allow: \(.*\)\r$/\1/p' "$T/hdr")"
	assert_eq "DELETE /healthz: 405" 405 "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -X DELETE "$U/healthz")"
	assert_eq "HEAD /metrics: 200" 200 "$(curl -s -m 30 -o /dev/null -w '%{http_code}' -I "$U/metrics")"
}

test_serve_ipv6() {
	target ipv6
	serve_bg "$T/srv6" --listen '[::1]:0' "$TGT" || fail "serve on [::1] did not start"
	assert_eq "serve on [::1]: GET /healthz" 200 \
		"$(curl -s -m 30 -o /dev/null -w '%{http_code}' -g "http://[::1]:$SERVE_PORT/healthz")"
}

test_serve_bad_listen() {
	local busy cgn
	serve_bg "$T/srv-busy" --listen 127.0.0.1:0 || fail "serve did not start"
	busy=$SERVE_PORT
	assert_rc "port in use: exit 1" 1 "$EGR" serve --listen "127.0.0.1:$busy"
	assert_eq "... one clear line" \
		"egressctl: serve: cannot listen on 127.0.0.1:$busy: Address already in use" "$LAST_ERR"
	assert_rc "--listen nonsense: exit 1" 1 "$EGR" serve --listen nonsense
	assert_eq "... one clear line" \
		"egressctl: serve: bad --listen 'nonsense': use ADDR:PORT, e.g. 127.0.0.1:9469 or [::1]:9469" \
		"$LAST_ERR"
	assert_rc "--listen port 65536: exit 1" 1 "$EGR" serve --listen 127.0.0.1:65536
	assert_rc "--listen without brackets for IPv6: exit 1" 1 "$EGR" serve --listen ::1:9469
	assert_rc "--listen an address not on this host: exit 1" 1 "$EGR" serve --listen 198.18.242.77:9469
	assert_eq "... one clear line" \
		"egressctl: serve: cannot listen on 198.18.242.77:9469: Cannot assign requested address" \
		"$LAST_ERR"
	cgn=$(cg_new none)
	assert_rc "serve a target not attached: exit 1" 1 "$EGR" serve --listen 127.0.0.1:0 "cgroup:$cgn"
	assert_match "... says so" '^egressctl: .*is not attached' "$LAST_ERR"
	assert_rc "serve --help: exit 0" 0 "$EGR" serve --help
	assert_match "... documents --listen" '--listen ADDR:PORT' "$LAST_OUT"
}

_port_free() { [ -z "$(ss -Hltn "sport = :$1")" ]; }

test_serve_sigterm() {
	local port
	serve_bg "$T/srv-term" --listen 127.0.0.1:0 || fail "serve did not start"
	port=$SERVE_PORT
	assert_rc "serve stops on SIGTERM" 0 kill -TERM "$(cat "$T/srv-term.pid")"
	assert_eq "... with exit status 0" 0 "$(wait_bg "$T/srv-term" 30 >/dev/null; echo $?)"
	assert_true "... and the port is free again" wait_for 15 _port_free "$port"
}

# a real Prometheus scrapes it
test_prometheus_scrapes() {
	local SP PP sel q query hq N=9 M=4
	target prom
	serve_bg "$T/srvp" --listen 127.0.0.1:0 "$TGT" || fail "serve for Prometheus did not start"
	SP=$SERVE_PORT
	PP=$(free_port) || fail "no free port for Prometheus"
	cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: egressctl
    static_configs:
      - targets: ['127.0.0.1:$SP']
EOF
	run_bg - "$T/prom" prometheus --config.file="$T/prometheus.yml" \
		--storage.tsdb.path="$T/tsdb" --web.listen-address="127.0.0.1:$PP"
	P=http://127.0.0.1:$PP
	if wait_promq 'up{job="egressctl"}' 1; then
		pass "Prometheus scrapes egressctl serve (up == 1)"
	else
		fail "Prometheus scrapes egressctl serve (up == 1)" "$(tail -5 "$T/prom.err")"
	fi
	expect_udp pass "$A4" 7000 -n "$N" -l 100 -m "allowed udp v4"
	expect_udp drop "$A6" 7000 -n "$M" -l 20 -m "udp v6 (no v6 rule)"
	"$EGR" metrics "$TGT" >"$T/m1"
	sel="target=\"cgroup:$rel\",cgroup=\"$rel\""
	# the denied datagrams were refused at sendto: no packet was built, 0 bytes
	for q in "allowed $N packets" "denied $M packets" "allowed $((N * 128)) bytes" \
		"denied 0 bytes" "audit 0 packets"; do
		# shellcheck disable=SC2086 # "verdict value kind"
		set -- $q
		query="egressctl_$3_total{$sel,verdict=\"$1\"}"
		if wait_promq "$query" "$2"; then
			pass "Prometheus has $query = $2"
		else
			fail "Prometheus has $query = $2" "got '$(promq "$query")'"
		fi
		assert_eq "... the same as egressctl metrics" "$2" "$(mval "$T/m1" "$query")"
	done
	hq="egressctl_rule_hits_total{target=\"cgroup:$rel\",action=\"allow\",dest=\"198.18.242.0/24\",ports=\"udp:7000\"}"
	if wait_promq "$hq" "$N"; then
		pass "Prometheus has the rule's hits = $N"
	else
		fail "Prometheus has the rule's hits = $N" "got '$(promq "$hq")'"
	fi
	assert_eq "Prometheus: rate() of denied > 0 fires the README alert expression" 1 \
		"$(promq "count(rate(egressctl_packets_total{$sel,verdict=\"denied\"}[5m]) > 0)")"
	assert_eq "Prometheus metadata: egressctl_packets_total is a counter" counter \
		"$(curl -s -m 30 "$P/api/v1/metadata?metric=egressctl_packets_total" | jq -r '.data.egressctl_packets_total[0].type')"
	# a scrape without error (the last one; a loaded host may time one out)
	assert_true "Prometheus: a scrape without error" wait_for 30 last_error_is ""
}

# promq QUERY: the value of the first result of an instant query, or "".
promq() {
	curl -s -m 30 --data-urlencode "query=$1" "$P/api/v1/query" 2>/dev/null |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
promq_is() { [ "$(promq "$1")" = "$2" ]; }
# wait_promq QUERY WANT: until Prometheus answers WANT (bounded).
wait_promq() { wait_for 60 promq_is "$1" "$2"; }
last_error_is() {
	[ "$(curl -s -m 30 "$P/api/v1/targets" | jq -r '.data.activeTargets[0].lastError')" = "$1" ]
}

# scrapes with 10, 1000, 10000 rules: one series per rule; the time is diag
test_scrape_many_rules() {
	local UB n i secs us best sum lines out
	target bench --max-rules 65536
	serve_bg "$T/srvb" --listen 127.0.0.1:0 "$TGT" || fail "serve for the bench"
	UB=http://127.0.0.1:$SERVE_PORT/metrics
	for n in 10 1000 10000; do
		gen_policy "$n" "$T/p$n.yaml"
		assert_rc "apply $n rules" 0 "$EGR" apply "$TGT" -f "$T/p$n.yaml"
		curl -s -m 60 -o "$T/b$n" "$UB" # warm up
		best=999999999 sum=0
		for i in 1 2 3 4 5; do
			secs=$(curl -s -m 60 -o "$T/b$n" -w '%{time_total}' "$UB")
			us=$(awk -v t="$secs" 'BEGIN { printf "%d", t * 1000000 }')
			sum=$((sum + us))
			[ "$us" -lt "$best" ] && best=$us
		done
		lines=$(grep -c '^egressctl_rule_hits_total' "$T/b$n")
		diag "scrape with $n rules: mean $((sum / 5 / 1000)).$(((sum / 5) % 1000 / 100)) ms, best $((best / 1000)).$((best % 1000 / 100)) ms, $(wc -c <"$T/b$n") bytes"
		assert_eq "scrape with $n rules: one rule_hits series per rule" "$n" "$lines"
	done
	if out=$(promtool check metrics <"$T/b10000" 2>&1); then
		pass "10000-rule exposition passes promtool"
	else
		fail "10000-rule exposition passes promtool" "$(head -5 <<<"$out")"
	fi
}

run_tests
