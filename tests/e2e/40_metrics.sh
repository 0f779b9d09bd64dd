#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `egressctl metrics`: every output passes `promtool check metrics`, every
# family has HELP and TYPE; counters are exact (N packets allowed and M
# denied from inside a cgroup move them by exactly N and M, bytes by the
# exact IP packet sizes, per-rule hits likewise); counters never go back
# while the policy is edited live (allow/remove/apply under traffic);
# audit mode lets traffic through and counts it as verdict="audit";
# label values with quotes, backslashes and non-UTF-8 bytes are escaped;
# --output writes atomically, and unwritable paths fail cleanly; detach
# drops a target's series and a re-attach starts from zero.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr promtool jq

ALL_TESTS="test_before_attach test_fresh_target test_exact_counters test_never_back_under_edits
	test_audit_mode test_label_escaping test_output_file test_output_errors test_detach_reattach"

S=${E2E_ID:2:6}
NA=k40a$S
netns_up "$NA" 198.18.240.2/24 2001:db8:240::2/64
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA")
T=$E2E_TMP
ro_umount() { mountpoint -q "$T/ro" 2>/dev/null && umount "$T/ro"; return 0; }
e2e_on_exit ro_umount

# promtool_ok NAME FILE: the exposition passes promtool, and every family
# that has samples has exactly one HELP and one TYPE line.
promtool_ok() {
	local out missing
	if ! out=$(promtool check metrics <"$2" 2>&1); then
		fail "$1: promtool check metrics" "$out"
		return 1
	fi
	missing=$(awk '/^# HELP /{ h[$3]++; next } /^# TYPE /{ t[$3]++; next } /^#/{ next }
		{ n = $0; sub(/[{ ].*/, "", n); s[n] = 1 }
		END { for (n in s) if (h[n] != 1 || t[n] != 1) print n
		      for (n in h) if (h[n] != 1 || t[n] != 1) print n }' "$2" | sort -u)
	if [ -n "$missing" ]; then
		fail "$1: HELP and TYPE once per family" "families: $missing"
		return 1
	fi
	pass "$1: promtool check metrics, HELP/TYPE per family"
}

# metrics_all NAME FILE: `egressctl metrics` (every target) into FILE, exit 0.
metrics_all() {
	local rc
	"$EGR" metrics >"$2" 2>"$2.err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$1: exit 0"
	else
		fail "$1: exit 0" "exit $rc: $(cat "$2.err")"
	fi
}

# target NAME [ATTACH OPTS]: egr_new, then L / TL, the labels of its series,
# and two allow rules (udp:5000 to A's /24 and /64).
target() {
	egr_new "$@"
	rel=${TCG#"$CGROOT"}
	L="target=\"cgroup:$rel\",cgroup=\"$rel\"" # the labels of the per-cgroup series
	TL="target=\"cgroup:$rel\""
	assert_rc "$1: allow A's /24 and /64 udp:5000" 0 sh -c \
		'"$1" allow "$2" 198.18.240.0/24 udp:5000 && "$1" allow "$2" 2001:db8:240::/64 udp:5000' \
		sh "$EGR" "$TGT"
}
scrape() { "$EGR" metrics "$TGT" >"$1"; }
pk() { mval "$1" "egressctl_packets_total{$L,verdict=\"$2\"}"; }
by() { mval "$1" "egressctl_bytes_total{$L,verdict=\"$2\"}"; }
hits() { mval "$1" "egressctl_rule_hits_total{$TL,action=\"$2\",dest=\"$3\",ports=\"$4\"}"; }

test_before_attach() {
	local cg
	metrics_all "metrics" "$T/m-all0"
	promtool_ok "metrics, all targets" "$T/m-all0"
	assert_match "build_info has version and libbpf" \
		'^egressctl_build_info\{version="[^"]+",libbpf="v[0-9][^"]*"\} 1$' \
		"$(grep '^egressctl_build_info' "$T/m-all0")"
	cg=$(cg_new unattached)
	assert_rc "metrics of a cgroup not attached: exit 1" 1 "$EGR" metrics "cgroup:$cg"
	assert_match "... names the target" '^egressctl: .*not attached' "$LAST_ERR"
}

test_fresh_target() {
	target fresh
	scrape "$T/m1"
	promtool_ok "metrics of one target" "$T/m1"
	assert_eq "attached 1" 1 "$(mval "$T/m1" "egressctl_attached{$L}")"
	assert_eq "fresh counters: allowed denied audit" "0 0 0" \
		"$(pk "$T/m1" allowed) $(pk "$T/m1" denied) $(pk "$T/m1" audit)"
	assert_eq "policy_rules 2" 2 "$(mval "$T/m1" "egressctl_policy_rules{$TL}")"
	assert_eq "map_entries rules / prefixes_v4 / prefixes_v6" "2 1 1" \
		"$(mval "$T/m1" "egressctl_map_entries{$TL,map=\"rules\"}") $(mval "$T/m1" "egressctl_map_entries{$TL,map=\"prefixes_v4\"}") $(mval "$T/m1" "egressctl_map_entries{$TL,map=\"prefixes_v6\"}")"
	assert_eq "map_capacity rules (default 16384)" 16384 \
		"$(mval "$T/m1" "egressctl_map_capacity{$TL,map=\"rules\"}")"
	assert_eq "audit_mode 0" 0 "$(mval "$T/m1" "egressctl_audit_mode{$TL}")"
	assert_eq "rule hits start at 0" "0 0" \
		"$(hits "$T/m1" allow 198.18.240.0/24 udp:5000) $(hits "$T/m1" allow 2001:db8:240::/64 udp:5000)"
	assert_eq "events counters 0" "0 0 0" \
		"$(mval "$T/m1" "egressctl_events_sent_total{$L}") $(mval "$T/m1" "egressctl_events_suppressed_total{$L}") $(mval "$T/m1" "egressctl_events_lost_total{$L}")"
}

# exact counters: 7+3 allowed, 5+2 denied
test_exact_counters() {
	target exact
	expect_udp pass "$A4" 5000 -n 7 -l 100 -m "allowed udp v4"
	expect_udp pass "$A6" 5000 -n 3 -l 50 -m "allowed udp v6"
	expect_udp drop "$A4" 5001 -n 5 -l 200 -m "denied udp v4"
	expect_udp drop "$A6" 5001 -n 2 -l 10 -m "denied udp v6"
	scrape "$T/m2"
	promtool_ok "metrics after traffic" "$T/m2"
	assert_eq "allowed packets = 7 + 3" 10 "$(pk "$T/m2" allowed)"
	assert_eq "allowed bytes = 7 x (20+8+100) + 3 x (40+8+50)" $((7 * 128 + 3 * 98)) "$(by "$T/m2" allowed)"
	assert_eq "denied packets = 5 + 2" 7 "$(pk "$T/m2" denied)"
	assert_eq "denied bytes = 0 (refused at sendto: no packet was built)" 0 "$(by "$T/m2" denied)"
	assert_eq "refused calls by process name: peer 7" 7 \
		"$(mval "$T/m2" "egressctl_denied_connections_total{$TL,comm=\"peer\"}")"
	assert_eq "audit packets 0" 0 "$(pk "$T/m2" audit)"
	assert_eq "rule hits v4 7, v6 3" "7 3" \
		"$(hits "$T/m2" allow 198.18.240.0/24 udp:5000) $(hits "$T/m2" allow 2001:db8:240::/64 udp:5000)"
	assert_eq "nothing malformed / nopolicy" "0 0" \
		"$(mval "$T/m2" "egressctl_unjudged_packets_total{$L,reason=\"malformed\"}") $(mval "$T/m2" "egressctl_unjudged_packets_total{$L,reason=\"nopolicy\"}")"
	assert_eq "metrics and list agree on hits" "7 3" \
		"$("$EGR" list "$TGT" -j | jq -r '[.[0].rules[] | select(.action == "allow") | .hits] | sort | reverse | map(tostring) | join(" ")')"
}

mono() { awk '{ for (i = 2; i <= NF; i++) if ($i + 0 < $(i - 1) + 0) { print "back at " i; exit } print "ok" }' <<<"$1"; }

# counters never go back while the policy is edited live
test_never_back_under_edits() {
	local seq_pk='' seq_hit='' edits_ok=1 i
	target edits
	cat >"$T/pol-a.yaml" <<EOF
default: deny
rules:
  - allow: 198.18.240.0/24
    ports: [udp:5000]
  - allow: 2001:db8:240::/64
    ports: [udp:5000]
  - deny: 198.18.240.99/32
EOF
	cat >"$T/pol-b.yaml" <<EOF
default: deny
rules:
  - allow: 198.18.240.0/24
    ports: [udp:5000]
  - allow: 2001:db8:240::/64
    ports: [udp:5000]
EOF
	peer_bg "$NA" "$T/u4b" udp-recv 5000 120 -n 400 || fail "receiver ready"
	run_bg - "$T/flow" cg_run "$TCG" "$PEER" udp-send "$A4" 5000 400 -l 10 -i 4000 -t 100
	for i in $(seq 12); do
		case $((i % 4)) in
		0) "$EGR" allow "$TGT" 198.18.240.0/24 udp:5001 >/dev/null || edits_ok=0 ;;
		1) "$EGR" remove "$TGT" 198.18.240.0/24 udp:5001 >/dev/null 2>&1 ;;
		2) "$EGR" apply "$TGT" -f "$T/pol-a.yaml" >/dev/null || edits_ok=0 ;;
		3) "$EGR" apply "$TGT" -f "$T/pol-b.yaml" >/dev/null || edits_ok=0 ;;
		esac
		scrape "$T/mm"
		seq_pk+="$(pk "$T/mm" allowed) "
		seq_hit+="$(hits "$T/mm" allow 198.18.240.0/24 udp:5000) "
		sleep 0.1 # pacing only: the edits are spread over the stream
	done
	"$EGR" apply "$TGT" -f "$T/pol-b.yaml" >/dev/null || edits_ok=0 # udp:5001 denied again
	assert_eq "live edits under traffic succeeded" 1 "$edits_ok"
	assert_eq "the sender got all 400 out during the edits" "sent 400 errors 0" "$(wait_bg "$T/flow" 120)"
	assert_eq "all 400 arrived during the edits" 400 "$(wait_bg "$T/u4b" 60)"
	diag "allowed while editing: $seq_pk"
	diag "rule hits while editing: $seq_hit"
	assert_eq "allowed packets never went back during edits" ok "$(mono "$seq_pk")"
	assert_eq "rule hits never went back during edits" ok "$(mono "$seq_hit")"
	scrape "$T/m3"
	assert_eq "allowed = 400 exactly after the edits" 400 "$(pk "$T/m3" allowed)"
	assert_eq "the kept rule's hits = 400" 400 "$(hits "$T/m3" allow 198.18.240.0/24 udp:5000)"
	assert_eq "denied unchanged by the edits" 0 "$(pk "$T/m3" denied)"
}

test_audit_mode() {
	target audit
	assert_rc "attach --audit (live)" 0 "$EGR" attach "$TGT" --audit
	scrape "$T/m4"
	assert_eq "audit_mode 1" 1 "$(mval "$T/m4" "egressctl_audit_mode{$TL}")"
	expect_udp pass "$A4" 5001 -n 4 -l 72 -m "audit: would-be-denied udp goes out"
	scrape "$T/m5"
	promtool_ok "metrics in audit mode" "$T/m5"
	assert_eq "audit packets +4" 4 "$(pk "$T/m5" audit)"
	assert_eq "audit bytes 4 x (28+72)" 400 "$(by "$T/m5" audit)"
	assert_eq "denied unchanged in audit mode" 0 "$(pk "$T/m5" denied)"
	assert_eq "audit mode: calls let through by process name: peer 4" 4 \
		"$(mval "$T/m5" "egressctl_audit_connections_total{$TL,comm=\"peer\"}")"
	cat >"$T/pol-noaudit.yaml" <<EOF
audit: false
rules:
  - allow: 198.18.240.0/24
    ports: [udp:5000]
  - allow: 2001:db8:240::/64
    ports: [udp:5000]
EOF
	assert_rc "apply audit: false" 0 "$EGR" apply "$TGT" -f "$T/pol-noaudit.yaml"
	expect_udp drop "$A4" 5001 -n 1 -l 72 -m "audit off: denied again"
	scrape "$T/m6"
	assert_eq "audit off: audit_mode 0, denied +1, audit unchanged" "0 1 4" \
		"$(mval "$T/m6" "egressctl_audit_mode{$TL}") $(pk "$T/m6" denied) $(pk "$T/m6" audit)"
}

# label escaping in real output
test_label_escaping() {
	local odd odd_rel esc
	target plain
	odd=$(cg_new $'q"b\\s-\xc3\xa9-\xff')
	odd_rel=${odd#"$CGROOT"}
	assert_rc "attach the oddly named cgroup" 0 egr_attach "$odd"
	"$EGR" metrics "cgroup:$odd" >"$T/m-odd"
	promtool_ok "metrics with quote, backslash, é and a non-UTF-8 byte" "$T/m-odd"
	esc=${odd_rel//\\/\\\\}
	esc=${esc//\"/\\\"}
	esc=${esc//$'\xff'/$'\xef\xbf\xbd'}
	assert_eq "label escaped: \\\" \\\\ kept é, U+FFFD for 0xff" 1 \
		"$(mval "$T/m-odd" "egressctl_attached{target=\"cgroup:$esc\",cgroup=\"$esc\"}")"
	metrics_all "metrics of all targets" "$T/m-all1"
	promtool_ok "metrics of all targets, two of ours" "$T/m-all1"
	assert_eq "both of ours in the full output" "1 1" \
		"$(mval "$T/m-all1" "egressctl_attached{$L}") $(mval "$T/m-all1" "egressctl_attached{target=\"cgroup:$esc\",cgroup=\"$esc\"}")"
}

test_output_file() {
	local ino
	target output
	expect_udp pass "$A4" 5000 -n 3 -m "some traffic first"
	mkdir -p "$T/out"
	assert_rc "--output FILE" 0 "$EGR" metrics "$TGT" --output "$T/out/egressctl.prom"
	assert_eq "--output: nothing on stdout" "" "$LAST_OUT"
	promtool_ok "--output file" "$T/out/egressctl.prom"
	assert_eq "--output: mode 644, no temporary file left" "644 egressctl.prom" \
		"$(stat -c %a "$T/out/egressctl.prom") $(ls -A "$T/out" | tr '\n' ' ' | sed 's/ $//')"
	scrape "$T/m-out"
	assert_eq "--output: same counters as stdout" "3 $(pk "$T/m-out" allowed)" \
		"$(pk "$T/out/egressctl.prom" allowed) $(pk "$T/out/egressctl.prom" allowed)"
	echo stale >"$T/out/egressctl.prom"
	ino=$(stat -c %i "$T/out/egressctl.prom")
	assert_rc "--output replaces a file" 0 "$EGR" metrics -o "$T/out/egressctl.prom" "$TGT"
	assert_eq "--output: replaced by rename (new inode), full content" "new 1" \
		"$([ "$(stat -c %i "$T/out/egressctl.prom")" != "$ino" ] && echo new) $(mval "$T/out/egressctl.prom" "egressctl_attached{$L}")"
}

test_output_errors() {
	local nodir=/nonexistent-egr-$E2E_ID/m.prom
	mkdir -p "$T/out2"
	assert_rc "--output into a missing directory: exit 1" 1 "$EGR" metrics --output "$nodir"
	assert_eq "... one clear line" \
		"egressctl: metrics: cannot write $nodir: No such file or directory" "$LAST_ERR"
	assert_rc "--output onto a directory: exit 1" 1 "$EGR" metrics --output "$T/out2"
	assert_eq "... one clear line" "egressctl: metrics: cannot write $T/out2: Is a directory" "$LAST_ERR"
	assert_eq "... and no temporary file left" "" "$(find "$T" -maxdepth 1 -name 'out2.*')"
	mkdir -p "$T/ro"
	if mount --bind "$T/ro" "$T/ro" && mount -o remount,bind,ro "$T/ro"; then
		assert_rc "--output on a read-only file system: exit 1" 1 "$EGR" metrics -o "$T/ro/m.prom"
		assert_eq "... one clear line" \
			"egressctl: metrics: cannot write $T/ro/m.prom: Read-only file system" "$LAST_ERR"
		ro_umount
	else
		ro_umount
		skip "--output on a read-only file system" "cannot make a read-only bind mount"
		skip "... one clear line" "no read-only mount"
	fi
	assert_rc "metrics with a bad option: exit 1" 1 "$EGR" metrics --bogus
	assert_match "... usage on stderr" 'Usage: egressctl metrics' "$LAST_ERR"
	assert_rc "metrics --help: exit 0" 0 "$EGR" metrics --help
	assert_match "... usage on stdout names --output" '--output FILE' "$LAST_OUT"
}

test_detach_reattach() {
	target again
	expect_udp pass "$A4" 5000 -n 3 -m "some traffic first"
	assert_rc "detach" 0 "$EGR" detach "$TGT"
	metrics_all "metrics after detach" "$T/m7"
	assert_eq "detach: the target's series are gone" absent "$(pk "$T/m7" allowed)"
	assert_rc "re-attach" 0 egr_attach "$TCG"
	scrape "$T/m8"
	assert_eq "re-attach: counters start from 0" "1 0 0 0" \
		"$(mval "$T/m8" "egressctl_attached{$L}") $(pk "$T/m8" allowed) $(pk "$T/m8" denied) $(pk "$T/m8" audit)"
}

run_tests
