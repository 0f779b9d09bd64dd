#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# explain: the verdict and its reason read from the kernel, as text and -j,
# for one packet and for every protocol and port of an address (rule with
# id and hits, default, loopback, inbound, audit, ::ffff:a.b.c.d); bad input
# is one line and exit 1. suggest: the audit -> policy loop on a real
# container: a workload runs under attach --audit, suggest writes a policy
# (grouped with --group 24), --reset forgets what was observed, apply -f
# takes the file, audit is off, the same workload runs again with zero
# denials and a destination it never used is denied.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq docker

ALL_TESTS="test_explain test_explain_bad_input test_suggest_loop"

SP=${EGR_TESTBIN:-$E2E_ROOT/build/tests}/sockprobe
T=$E2E_TMP

# the policy explain is asked about
explain_policy() {
	cat >"$T/p.yaml" <<'EOF'
default: deny
rules:
  - allow: 198.18.0.0/24
    ports: [tcp:443]
  - allow: 198.18.0.0/16
    ports: [tcp:8000-8999]
  - deny: 198.18.0.9
    ports: [tcp:8080]
  - allow: 2001:db8::/32
    ports: [udp]
EOF
	assert_rc "apply a policy" 0 "$EGR" apply "$TGT" -f "$T/p.yaml"
}

test_explain() {
	local id443 want
	egr_new explain
	explain_policy
	id443=$("$EGR" list "$TGT" -j | jq -r '.[0].rules[] | select(.ports == "tcp:443") | .id')
	assert_rc "explain tcp:443" 0 "$EGR" explain "$TGT" 198.18.0.9 tcp:443
	assert_eq "explain tcp:443: the rule, its id and hits" \
		"cgroup:/egr-e2e-$E2E_ID-explain: tcp 198.18.0.9:443 allowed by rule $id443 \"allow 198.18.0.0/24 tcp:443\" (0 hits)" \
		"$LAST_OUT"
	assert_rc "explain tcp:8080" 0 "$EGR" explain "$TGT" 198.18.0.9 tcp:8080
	assert_match "explain tcp:8080: the deny rule" \
		'denied by rule [0-9]+ "deny 198\.18\.0\.9/32 tcp:8080"' "$LAST_OUT"
	assert_rc "explain udp:53" 0 "$EGR" explain "$TGT" 198.18.0.9 udp:53
	assert_match "explain udp:53: the default" 'udp 198\.18\.0\.9:53 denied by default$' "$LAST_OUT"
	assert_rc "explain loopback" 0 "$EGR" explain "$TGT" 127.0.0.1 tcp:22
	assert_match "explain loopback: always allowed" "allowed: loopback: always allowed\$" "$LAST_OUT"
	assert_rc "explain --inbound" 0 "$EGR" explain "$TGT" 198.19.0.1 tcp:22 --inbound
	assert_match "explain --inbound: reply on an inbound TCP connection" \
		"allowed: reply on an inbound TCP connection: always allowed\$" "$LAST_OUT"
	assert_rc "explain ::ffff:198.18.0.9 (judged as IPv4)" 0 "$EGR" explain "$TGT" ::ffff:198.18.0.9 tcp:443
	assert_match "... by the IPv4 rule" 'allowed by rule [0-9]+ "allow 198\.18\.0\.0/24 tcp:443"' \
		"$LAST_OUT"
	assert_rc "explain -j" 0 "$EGR" explain "$TGT" 2001:db8::5 udp:53 -j
	assert_eq "explain -j: fields" "2001:db8::5 udp 53 allowed rule allow 2001:db8::/32 udp 0 false" \
		"$(jq -r '"\(.address) \(.results[0] | "\(.proto) \(.ports) \(.verdict) \(.reason) \(.rule) \(.hits)") \(.audit)"' <<<"$LAST_OUT")"
	assert_rc "explain every protocol and port" 0 "$EGR" explain "$TGT" 198.18.0.9
	want="cgroup:/egr-e2e-$E2E_ID-explain: 198.18.0.9
  tcp:443                  allowed by rule $id443 \"allow 198.18.0.0/24 tcp:443\" (0 hits)
  tcp:8000-8079,8081-8999  allowed by rule RULE \"allow 198.18.0.0/16 tcp:8000-8999\" (0 hits)
  tcp:8080                 denied by rule RULE \"deny 198.18.0.9/32 tcp:8080\" (0 hits)
  tcp:1-442,444-7999,9000-65535 denied by default
  udp                      denied by default
  icmp                     denied by default
  other protocols          denied by default"
	assert_eq "explain without a port spec: classes by outcome" "$(sort <<<"$want")" \
		"$(sed -E 's/by rule [0-9]+ /by rule RULE /; s/rule RULE "allow 198.18.0.0\/24/rule '"$id443"' "allow 198.18.0.0\/24/' <<<"$LAST_OUT" | sort)"
	assert_eq "explain -j without a port spec: 7 results" 7 \
		"$("$EGR" explain "$TGT" 198.18.0.9 -j | jq '.results | length')"
	# the hits explain shows are the kernel's
	cg_run "$TCG" "$SP" connect tcp 198.18.0.9 8080 >/dev/null 2>&1
	assert_match "hits: a refused connect counts for the deny rule" '\(1 hits\)$' \
		"$("$EGR" explain "$TGT" 198.18.0.9 tcp:8080)"
	assert_rc "audit on" 0 "$EGR" attach "$TGT" --audit
	assert_match "explain in audit mode" 'would be denied by default \(audit mode: let through\)$' \
		"$("$EGR" explain "$TGT" 198.18.0.9 udp:53)"
	assert_eq "explain -j in audit mode: verdict audit" "audit true" \
		"$("$EGR" explain "$TGT" 198.18.0.9 udp:53 -j | jq -r '"\(.results[0].verdict) \(.audit)"')"
}

test_explain_bad_input() {
	egr_new explainbad
	assert_rc "bad input: a prefix" 1 "$EGR" explain "$TGT" 198.18.0.0/24 tcp:443
	assert_eq "bad input: a prefix: one line" \
		"egressctl: explain: '198.18.0.0/24' is a prefix; explain takes one address (e.g. 10.1.2.3)" \
		"$LAST_ERR"
	assert_rc "bad input: a port range" 1 "$EGR" explain "$TGT" 198.18.0.1 tcp:80-90
	assert_eq "bad input: a port range: one line" \
		"egressctl: explain: 'tcp:80-90' is not one packet's protocol and port: use tcp:443, udp:53 or icmp" \
		"$LAST_ERR"
	assert_rc "bad input: not attached" 1 "$EGR" explain "cgroup:$CGROOT" 198.18.0.1
	assert_match "bad input: not attached names the fix" "is not attached \\(run: egressctl attach " \
		"$LAST_ERR"
}

# the audit -> policy loop on a container
test_suggest_loop() {
	local c cid d0 f
	netns_up d17rx 198.18.170.2/24 -
	netns_addr d17rx 198.18.170.3/32
	netns_addr d17rx 198.18.171.9/32
	_sysctl - net.ipv4.ip_forward 1
	dk_run c egressctl-test:busybox sleep 600 >/dev/null || bail "docker run failed"
	c=$(dk_name c)
	assert_rc "attach the container --audit" 0 "$EGR" attach "$c" --audit
	cid=$(dk_cgid "$c")
	# workload: udp to .2:5001 and .3:5001, tcp to .2:5002
	workload() {
		peer_bg d17rx "$T/$1-u" udp-recv 5001 60 -n 6
		peer_bg d17rx "$T/$1-t" tcp-recv 5002 60 -n 1
		timeout 60 docker exec "$c" peer udp-send 198.18.170.2 5001 3 >/dev/null 2>&1
		timeout 60 docker exec "$c" peer udp-send 198.18.170.3 5001 3 >/dev/null 2>&1
		timeout 60 docker exec "$c" peer tcp-send 198.18.170.2 5002 -l 100 -t 10 >/dev/null 2>&1
		echo "$(wait_bg "$T/$1-u" 30) $(wait_bg "$T/$1-t" 30)"
	}
	den() { "$EGR" status -j | jq -r --argjson id "$cid" '.targets[] | select(.cgroup_id == $id) | .counters.denied.packets'; }
	assert_eq "audit: the workload gets through (6 datagrams, 1 connection)" "6 1 100" "$(workload w1)"
	f=$T/suggested.yaml
	assert_rc "suggest -o --group 24" 0 "$EGR" suggest "$c" -o "$f" --group 24
	diag <"$f"
	assert_match "suggest: the two udp addresses as one prefix" \
		"- allow: 198\\.18\\.170\\.2/31 ports: - udp:5001 # 6 packets, 2 addresses" \
		"$(tr -s ' \n' ' ' <"$f")"
	assert_match "suggest: tcp:5002" "- allow: 198\\.18\\.170\\.2/32 ports: - tcp:5002 # [0-9]+ packets" \
		"$(tr -s ' \n' ' ' <"$f")"
	assert_rc "suggest --reset" 0 "$EGR" suggest "$c" --reset
	assert_match "suggest --reset printed the observations" "udp:5001" "$LAST_OUT"
	assert_rc "suggest again" 0 "$EGR" suggest "$c"
	assert_match "suggest again: nothing observed since" "\\(0 destinations and ports, 0 packets\\)" \
		"$LAST_OUT"
	assert_rc "apply -f the suggestion" 0 "$EGR" apply "$c" -f "$f"
	assert_eq "audit is off, default deny" "false deny" \
		"$("$EGR" list "$c" -j | jq -r '.[0] | "\(.audit) \(.default)"')"
	d0=$(den)
	assert_eq "enforcing: the same workload gets through" "6 1 100" "$(workload w2)"
	assert_eq "enforcing: zero denials" "$d0" "$(den)"
	assert_rc "a destination it never used is denied (udp)" 1 \
		timeout 60 docker exec "$c" peer udp-send 198.18.171.9 5001 1
	assert_match "... with EPERM" "Operation not permitted" "$LAST_ERR"
	assert_eq "a destination it never used is denied (tcp)" "connect: Connection refused" \
		"$(timeout 60 docker exec "$c" peer tcp-send 198.18.170.2 5003 -t 5 2>&1)"
	assert_eq "the denials were counted" $((d0 + 2)) "$(den)"
	assert_rc "suggest: bad --group" 1 "$EGR" suggest "$c" --group 40
	assert_eq "suggest: bad --group: one line" "egressctl: suggest: bad --group '40': use 8-32" \
		"$LAST_ERR"
}

run_tests
