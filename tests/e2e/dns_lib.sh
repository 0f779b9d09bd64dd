# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# The name-rule tests' resolver: Debian's dnsmasq in a network namespace
# the test made, answering only from its own records (--no-resolv: it never
# forwards a query anywhere). Sourced after lib.sh's e2e_init.
#
#   dns_up NS ADDR [DNSMASQ OPTIONS...]
#       runs dnsmasq in NS on ADDR:53 (UDP and TCP) with the records given
#       (--host-record=..., --cname=..., --addn-hosts=FILE, --address=...),
#       and waits (bounded) until it answers "probe.test"
#   dns_count CGPATH STAT    one of the DNS counters of an attached cgroup
#       (status -j): queries answers untrusted mismatch malformed truncated
#       learned capacity evicted forged
#   dns_learned CG NAME      "addr ttl" lines the name rule NAME holds (list -j)

DNSQ=${EGR_TESTBIN:-$E2E_ROOT/build/tests}/dnsq
[ -x "$DNSQ" ] || bail "helper $DNSQ missing (make test-build)"
command -v dnsmasq >/dev/null || bail "dnsmasq missing (apt-get install dnsmasq-base)"

dns_up() {
	local ns=$1 addr=$2 out
	shift 2
	out=$E2E_TMP/dnsmasq-$ns
	run_bg "$ns" "$out" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll \
		--conf-file=/dev/null --bind-interfaces --listen-address="$addr" --port=53 \
		--user=root --pid-file="$out.dpid" --log-facility="$out.log" \
		--host-record=probe.test,198.18.255.254 "$@"
	wait_for 10 "$DNSQ" resolve "$addr" probe.test -w 200 ||
		bail "dns_up: dnsmasq in $ns does not answer: $(cat "$out.err" 2>/dev/null)"
}

dns_count() {
	"$EGR" status -j | jq --argjson id "$(stat -c %i "$1")" \
		".targets[] | select(.cgroup_id == \$id) | .dns.$2"
}

dns_learned() {
	"$EGR" list "$1" -j | jq -r --arg n "$2" \
		'.[0].rules[] | select(.dest == $n) | (.learned // [])[] | "\(.addr) \(.ttl)"'
}
