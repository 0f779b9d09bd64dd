#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Bad input: malformed addresses, prefix lengths, ports, protocols, policy
# files, targets; not root. Each must fail with exit 1 and one
# clear line on stderr, and leave the kernel state byte-for-byte as it was:
# list -j, the pinned maps (egr_rules, egr_meta, egr_ctl, egr_free,
# egr_hits, egr_v4/egr_v6 and the inner tries they point to) and the pins.
# A policy bigger than the capacity is not bad input: it grows it. A policy
# still enforced after all of it is checked with traffic.
# Needs jq.
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq

ALL_TESTS="test_addresses test_ports_and_protocols test_policy_files test_targets test_not_root
	test_full_map test_still_enforced"

egr_topology k13 1

cg=$(cg_new bad)
id=$(stat -c %i "$cg")
CG=cgroup:$cg
cgu=$(cg_new unattached)
uid=$(stat -c %i "$cgu")
echo "$cgu $uid" >>"$E2E_TMP/.attached" # in case a bad command attaches it
CGU=cgroup:$cgu

assert_rc "attach --max-rules 64" 0 egr_attach "$cg" --max-rules 64
cat >"$T/base.yaml" <<EOF
default: deny
rules:
  - allow: $A4
    ports: [udp:8000, tcp:8001]
  - deny: $NET1.0/24
  - allow: $NET6_1::/64
    ports: [udp:8000]
EOF
assert_rc "apply the base policy" 0 "$EGR" apply "$CG" -f "$T/base.yaml"
# some live-edit history, so egr_free and the rule slots are not trivial
assert_rc "live edits: allow + remove" 0 sh -c \
	'"$1" allow "$2" "$3.9" udp:9 && "$1" allow "$2" "$3.10" && "$1" remove "$2" "$3.9" udp:9' \
	sh "$EGR" "$CG" "$NET1"
base_rules=$(egr_rules "$CG")

# hex bytes of an outer map value (the inner map id, little endian) -> id
inner_ids() {
	bpftool map dump pinned "$1" -j |
		jq -r '.[].value | map(ltrimstr("0x")) | reverse | join("")' |
		while read -r h; do echo $((16#$h)); done
}

# snap: everything a bad command must not change.
snap() {
	local d=$EGR_PINS/$id m i
	echo "== list"
	"$EGR" list "$CG" -j
	echo "== pins"
	ls -1 "$d"
	ls -1d "$EGR_PINS/$uid" "$EGR_PINS"/tmp-"$id"-* "$EGR_PINS"/tmp-"$uid"-* 2>/dev/null
	for m in egr_rules egr_meta egr_ctl egr_free egr_hits egr_names egr_nlive; do
		echo "== $m"
		bpftool map dump pinned "$d/$m"
	done
	for m in egr_v4 egr_v6; do
		echo "== $m"
		bpftool map dump pinned "$d/$m"
		for i in $(inner_ids "$d/$m"); do
			echo "== $m inner $i"
			bpftool map dump id "$i"
		done
	done
	echo "== cgroup progs"
	bpftool cgroup show "$cg"
	bpftool cgroup show "$cgu"
}

snap >"$T/snap0"
assert_match "snapshot covers the inner tries" "== egr_v4 inner [0-9]+" "$(cat "$T/snap0")"
assert_match "snapshot sees the rules" "${NET1//./\\.}\\.10/32" "$(cat "$T/snap0")"

# bad NAME REGEX CMD...: exit 1, exactly one line on stderr matching REGEX,
# nothing on stdout, the kernel state unchanged.
bad() {
	local name=$1 re=$2 lines
	shift 2
	assert_rc "$name: exit 1" 1 "$@"
	lines=$(printf '%s' "$LAST_ERR" | grep -c '')
	if [ -n "$LAST_ERR" ] && [ "$lines" -eq 1 ] && [ -z "$LAST_OUT" ]; then
		pass "$name: one line on stderr, nothing on stdout"
	else
		fail "$name: one line on stderr, nothing on stdout" "stderr ($lines lines): $LAST_ERR" \
			"stdout: $LAST_OUT"
	fi
	assert_match "$name: message" "$re" "$LAST_ERR"
	snap >"$T/snap1"
	if cmp -s "$T/snap0" "$T/snap1"; then
		pass "$name: kernel state unchanged"
	else
		# the next check compares with the state as it is now
		diff "$T/snap0" "$T/snap1" | head -20 >"$T/snap.diff"
		cp "$T/snap1" "$T/snap0"
		fail "$name: kernel state unchanged" "$(cat "$T/snap.diff")"
	fi
}

# A case that failed half-way (the full map) leaves the base policy back in
# force for the next one.
base_back() {
	[ "$1" = end ] || return 0
	[ "$(egr_rules "$CG")" = "$base_rules" ] && return 0
	diag "putting the base policy back"
	"$EGR" apply "$CG" -f "$T/base.yaml" >/dev/null && "$EGR" allow "$CG" "$NET1.10" >/dev/null
	snap >"$T/snap0"
}
e2e_on_case base_back

test_addresses() {
	bad "address 198.18.1" "bad destination '198\\.18\\.1': not an IPv4 or IPv6 address" \
		"$EGR" allow "$CG" 198.18.1
	bad "address 300.1.2.3" "bad destination '300\\.1\\.2\\.3'" "$EGR" allow "$CG" 300.1.2.3
	bad "deny by name" "deny by name is not supported \('example\.com'\): another resolver" \
		"$EGR" deny "$CG" example.com
	bad "name a..b" "bad name 'a\.\.b': empty label" "$EGR" allow "$CG" a..b
	bad "name with a bad character" "bad name 'a_b\.com': '_' is not a letter, digit or hyphen" \
		"$EGR" allow "$CG" a_b.com
	bad "wildcard in the middle" "'\*' only as the whole first label" "$EGR" allow "$CG" 'a.*.com'
	bad "address 2001:db8:::1" "not an IPv4 or IPv6 address" "$EGR" allow "$CG" 2001:db8:::1
	bad "empty destination" "empty" "$EGR" allow "$CG" ""
	bad "prefix /33" "bad prefix length.*IPv4 allows 0-32" "$EGR" allow "$CG" 198.18.1.0/33
	bad "prefix /129" "bad prefix length.*IPv6 allows 0-128" "$EGR" allow "$CG" 2001:db8::/129
	bad "prefix /-1" "bad prefix length" "$EGR" allow "$CG" 198.18.1.0/-1
	bad "prefix /" "bad prefix length" "$EGR" allow "$CG" 198.18.1.0/
	bad "prefix /08 (leading zero)" "bad prefix length.*leading zero" "$EGR" allow "$CG" 198.18.1.0/08
	bad "remove with prefix /33" "bad prefix length" "$EGR" remove "$CG" "$A4/33" udp:8000
}

test_ports_and_protocols() {
	bad "port 0" "udp:0.*ports are 1-65535" "$EGR" allow "$CG" "$A4" udp:0
	bad "port 65536" "tcp:65536.*ports are 1-65535" "$EGR" allow "$CG" "$A4" tcp:65536
	bad "reversed range 9000-8000" "bad port range 'tcp:9000-8000': first port is above last" \
		"$EGR" allow "$CG" "$A4" tcp:9000-8000
	bad "range 0-10" "ports are 1-65535" "$EGR" allow "$CG" "$A4" tcp:0-10
	bad "port abc" "bad port" "$EGR" allow "$CG" "$A4" tcp:abc
	bad "protocol sctp:1" "bad protocol 'sctp:1': use tcp, udp or icmp" "$EGR" allow "$CG" "$A4" sctp:1
	bad "protocol TCP (case)" "bad protocol" "$EGR" allow "$CG" "$A4" TCP:80
	bad "icmp with a port" "icmp takes no port" "$EGR" allow "$CG" "$A4" icmp:8
	bad "one good and one bad port spec: nothing added" "ports are 1-65535" \
		"$EGR" allow "$CG" "$A4" udp:53 tcp:0
	local p
	local -a spec33=()
	for p in $(seq 1 33); do spec33+=("udp:$((20000 + p))"); done
	bad "33 rules for one prefix" "at most 32 per prefix" "$EGR" allow "$CG" "$NET1.77" "${spec33[@]}"
	bad "remove a rule not in force" "no such rule" "$EGR" remove "$CG" "$A4" udp:8001
	bad "remove one present and one absent rule: nothing removed" "no such rule" \
		"$EGR" remove "$CG" "$A4" udp:8000 udp:8002
}

# bad_policy NAME FILE REGEX CONTENT: apply of a policy file FILE (in T)
# holding CONTENT (printf format) is bad input
bad_policy() {
	# shellcheck disable=SC2059 # CONTENT is the format
	printf "$4" >"$T/$2"
	bad "$1" "$3" "$EGR" apply "$CG" -f "$T/$2"
}

test_policy_files() {
	bad_policy "YAML syntax error" syntax.yaml "syntax\\.yaml:[0-9]+: YAML error" \
		'default: deny\nrules:\n  - allow: [198.18.1.1\n'
	bad_policy "YAML unknown top-level key" unknown.yaml "unknown\\.yaml:2: unknown key 'rulez'" \
		'default: deny\nrulez:\n  - allow: 198.18.1.1\n'
	bad_policy "YAML unknown key in a rule" unknown2.yaml "unknown2\\.yaml:3: unknown key 'port' in rule" \
		'rules:\n  - allow: 198.18.1.1\n    port: [udp:53]\n'
	bad_policy "YAML bad address names its line" badaddr.yaml "badaddr\\.yaml:4: bad prefix length" \
		'default: deny\nrules:\n  - allow: 198.18.1.1\n  - allow: 198.18.1.0/33\n'
	bad_policy "YAML bad port" badport.yaml "badport\\.yaml:3: .*ports are 1-65535" \
		'rules:\n  - allow: 198.18.1.1\n    ports: [udp:53, udp:70000]\n'
	bad_policy "YAML bad default" baddefault.yaml "bad default 'maybe'" \
		'default: maybe\nrules: []\n'
	bad_policy "YAML rule with allow and deny" both.yaml "both allow: and deny:" \
		'rules:\n  - allow: 198.18.1.1\n    deny: 198.18.1.2\n'
	bad_policy "YAML empty ports list" noports.yaml "empty ports list" \
		'rules:\n  - allow: 198.18.1.1\n    ports: []\n'
	bad_policy "JSON bad protocol" bad.json "bad\\.json:1: bad protocol" \
		'{"default": "deny", "rules": [{"allow": "198.18.1.1", "ports": ["sctp:1"]}]}\n'
	bad_policy "JSON truncated" trunc.json "trunc\\.json:[0-9]+: YAML error" \
		'{"default": "deny", "rules": [\n'
	: >"$T/empty.yaml"
	bad "empty policy file" "empty policy" "$EGR" apply "$CG" -f "$T/empty.yaml"
	bad "missing policy file" "cannot open policy file '.*/missing\\.yaml': No such file or directory" \
		"$EGR" apply "$CG" -f "$T/missing.yaml"
	bad "policy file is a directory" "policy file" "$EGR" apply "$CG" -f "$T"
}

test_targets() {
	bad "target cgroup:/nonexistent" "cgroup '/nonexistent-egr-e2e-$E2E_ID': no such cgroup" \
		"$EGR" allow "cgroup:/nonexistent-egr-e2e-$E2E_ID" "$A4"
	bad "list cgroup:/nonexistent" "no such cgroup" "$EGR" list "cgroup:/nonexistent-egr-e2e-$E2E_ID"
	bad "target pid:999999999" "bad target 'pid:999999999': not a process id" \
		"$EGR" allow pid:999999999 "$A4"
	bad "target pid:abc" "bad target 'pid:abc': not a process id" "$EGR" allow pid:abc "$A4"
	bad "target pid: (empty)" "not a process id" "$EGR" list pid:
	bad "target pid:4194000 (no such process)" "no such process 4194000" "$EGR" list pid:4194000
	bad "target cgroup:/proc (relative to the cgroup2 mount)" "cgroup '/proc': no such cgroup" \
		"$EGR" list cgroup:/proc
	bad "target cgroup:../.. (walks out of the mount)" "cgroup '\.\./\.\.'" "$EGR" list cgroup:../..
	bad "target a file, not a directory" "cgroup '.*/cgroup\.procs': Not a directory" \
		"$EGR" list "cgroup:$cg/cgroup.procs"
	bad "attach cgroup:/nonexistent" "no such cgroup" "$EGR" attach "cgroup:/nonexistent-egr-e2e-$E2E_ID"
	bad "not attached: allow" "is not attached" "$EGR" allow "$CGU" "$A4"
	bad "not attached: deny" "is not attached" "$EGR" deny "$CGU" "$A4"
	bad "not attached: remove" "is not attached" "$EGR" remove "$CGU" "$A4"
	bad "not attached: apply" "is not attached" "$EGR" apply "$CGU" -f "$T/base.yaml"
	bad "not attached: list" "is not attached" "$EGR" list "$CGU"
	bad "not attached: detach" "is not attached" "$EGR" detach "$CGU"
	bad "attach --max-rules 63" "bad --max-rules '63'" "$EGR" attach "$CGU" --max-rules 63
	bad "attach --max-rules 4194305" "bad --max-rules" "$EGR" attach "$CGU" --max-rules 4194305
	bad "attach --max-rules 1k" "bad --max-rules" "$EGR" attach "$CGU" --max-rules 1k
	bad "attach --default maybe" "bad --default 'maybe'" "$EGR" attach "$CGU" --default maybe
	bad "attach --default maybe (attached target)" "bad --default" "$EGR" attach "$CG" --default maybe
	bad "unknown command" "unknown command 'allwo'" "$EGR" allwo "$CG" "$A4"
}

asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
test_not_root() {
	bad "not root: list" "must be run as root" asuser "$EGR" list
	bad "not root: list target" "must be run as root" asuser "$EGR" list "$CG"
	bad "not root: status" "must be run as root" asuser "$EGR" status
	bad "not root: allow" "must be run as root" asuser "$EGR" allow "$CG" "$NET1.50"
	bad "not root: apply" "must be run as root" asuser "$EGR" apply "$CG" -f "$T/base.yaml"
	bad "not root: detach" "must be run as root" asuser "$EGR" detach "$CG"
	bad "not root: attach" "must be run as root" asuser "$EGR" attach "$CGU"
}

gen_rules() { # N FILE: N allow rules for distinct /32s
	awk -v n="$1" 'BEGIN { print "default: deny"; print "rules:";
		for (i = 1; i <= n; i++) printf "  - allow: 10.77.%d.%d\n", int(i / 256), i % 256 }' >"$2"
}
# a policy bigger than the capacity is no error: it grows the capacity
# (twice as big), by apply and by a live edit alike (18_grow.sh: under
# traffic and killed mid-way)
test_full_map() {
	gen_rules 65 "$T/r65.yaml"
	gen_rules 128 "$T/r128.yaml"
	assert_rc "apply 65 rules, capacity 64: grows" 0 "$EGR" apply "$CG" -f "$T/r65.yaml"
	assert_match "apply says so" "applied 65 rules .*capacity grown from 64 to 128" "$LAST_OUT"
	assert_eq "65 rules in force" 65 "$("$EGR" list "$CG" -j | jq '.[0].rules | length')"
	assert_rc "apply 128 rules (exactly the capacity) works" 0 "$EGR" apply "$CG" -f "$T/r128.yaml"
	assert_eq "apply 128: no growth" 0 "$(grep -c grown <<<"$LAST_OUT")"
	assert_rc "allow a 129th rule: grows" 0 "$EGR" allow "$CG" 10.77.9.99
	assert_match "allow says so" "the policy was full: capacity grown from 128 to 256 rules" "$LAST_ERR"
	assert_eq "129 rules in force" 129 "$("$EGR" list "$CG" -j | jq '.[0].rules | length')"
	assert_rc "back to the base policy" 0 "$EGR" apply "$CG" -f "$T/base.yaml"
	assert_rc "re-add the live rule" 0 "$EGR" allow "$CG" "$NET1.10"
	assert_eq "base policy back in force" "$base_rules" "$(egr_rules "$CG")"
}

# and the policy is enforced as before
test_still_enforced() {
	expect_from "$cg"
	expect_udp pass "$A4" 8000 -m "after all bad input: allowed udp:8000"
	expect_udp pass "$A6" 8000 -m "after all bad input: allowed v6 udp:8000"
	expect_udp drop "$A4" 8002 -m "after all bad input: udp:8002 (no rule)"
	assert_eq "the unattached cgroup has no pins" no "$([ -e "$EGR_PINS/$uid" ] && echo yes || echo no)"
}

run_tests
