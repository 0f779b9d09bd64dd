#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Pinned state: attach pins the program, links and maps under
# /sys/fs/bpf/egressctl/<cgroup id>/ and the cgroup link shows in bpftool;
# enforcement lives in the kernel, so it goes on after egressctl exits or
# is SIGKILLed in the middle of any command (allow, apply, list, status,
# attach, detach; attach and detach also at their worst moment, made
# deterministic with gdb); every new process sees the same rules; detach
# removes the program, links, maps and the directory, and traffic flows
# again; a cgroup removed while attached can still be cleaned up; an
# instance of another map layout is left alone but for detach.
# Needs jq; the deterministic kill points need gdb (skipped without).
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr jq

ALL_TESTS="test_attach_pins test_sigkill_mid_command test_attach_killed test_attach_stopped test_detach_killed
	test_killed_at_worst_moment test_detach_leaves_nothing test_cgroup_removed_while_attached
	test_detach_gone test_other_map_layout"

egr_topology k14 1

# programs of one attach type on a cgroup, "id name" lines
cg_progs() { bpftool cgroup show "$1" -j 2>/dev/null | jq -r --arg t "$2" '.[]? | select(.attach_type == $t) | "\(.id) \(.name)"'; }
# links of a cgroup id, "attach_type prog_id" lines
cg_links() { bpftool link show -j | jq -r --argjson id "$1" '.[] | select(.type == "cgroup" and .cgroup_id == $id) | "\(.attach_type) \(.prog_id)"' | sort; }
# the seven links a pin directory's programs should have, as cg_links prints them
want_links() {
	local h
	for h in egress:inet_egress sockops:sock_ops connect4:inet4_connect connect6:inet6_connect \
		sendmsg4:udp4_sendmsg sendmsg6:udp6_sendmsg ingress:inet_ingress; do
		echo "cgroup_${h#*:} $(bpftool prog show pinned "$1/prog_${h%%:*}" -j | jq -r .id)"
	done | sort
}
# the number of egr_egress programs on a cgroup
n_egress() { cg_progs "$1" cgroup_inet_egress | grep -c egr_egress; }

# pin_names DIR: the names in DIR, sorted, on one line
pin_names() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//'; }
REQUIRED_PINS="egr_audit egr_comm egr_ctl egr_events egr_evcfg egr_free egr_hits egr_meta egr_rules egr_sk egr_stats egr_v4 egr_v6 egr_names egr_nlive egr_dnsq egr_learn egr_lring egr_anames link_ingress prog_ingress link_connect4 link_connect6 link_egress link_sendmsg4 link_sendmsg6 link_sockops prog_connect4 prog_connect6 prog_egress prog_sendmsg4 prog_sendmsg6 prog_sockops"
# missing_pins DIR: the required pins DIR lacks
missing_pins() {
	local p m=''
	for p in $REQUIRED_PINS; do [ -e "$1/$p" ] || m+=" $p"; done
	echo "$m"
}

# complete WHAT CGPATH PINDIR: attached and complete (every pin, one
# egr_egress on the cgroup); else 1, with what is wrong
complete() {
	local missing np
	missing=$(missing_pins "$3") np=$(n_egress "$2")
	[ -z "$missing" ] && [ "$np" -eq 1 ] && return 0
	diag "$1: pins missing:$missing, $np programs"
	return 1
}

# enforce_ok NAME CGPATH: udp:9000 to A arrives, udp:9001 does not.
enforce_ok() {
	expect_udp pass "$A4" 9000 --from "$2" -m "$1: allowed udp:9000"
	expect_udp drop "$A4" 9001 --from "$2" -m "$1: denied udp:9001"
}

# egr_new + the one rule every case's policy has
pins_new() {
	egr_new "$1"
	assert_rc "$1: allow $A4 udp:9000" 0 "$EGR" allow "$TGT" "$A4" udp:9000
}

test_attach_pins() {
	local D pins badmaps p pe ps pe_id ps_id le fresh
	fresh=$(cg_new fresh)
	assert_eq "before attach: no pin directory" no \
		"$([ -e "$EGR_PINS/$(stat -c %i "$fresh")" ] && echo yes || echo no)"
	assert_eq "before attach: no program on the cgroup" "" "$(cg_progs "$fresh" cgroup_inet_egress)"
	pins_new pins
	D=$EGR_PINS/$TID
	assert_eq "pin root $EGR_PINS is root-only (0700)" "700 root" "$(stat -c '%a %U' "$EGR_PINS")"
	assert_eq "pin directory $D is root-only (0700)" "700 root" "$(stat -c '%a %U' "$D")"
	pins=$(pin_names "$D")
	diag "pins: $pins"
	assert_eq "all required pins present" "" "$(missing_pins "$D")"
	assert_eq "nothing but link_*, prog_*, egr_* pins" "" \
		"$(pin_names "$D" | tr ' ' '\n' | grep -Ev '^(link_[a-z0-9]+|prog_[a-z0-9]+|egr_[a-z0-9_]+)$')"
	assert_eq "no temporary directory left by attach" "" "$(ls -1d "$EGR_PINS"/tmp-"$TID"-* 2>/dev/null)"
	badmaps=
	for p in "$D"/egr_*; do
		bpftool map show pinned "$p" >/dev/null 2>&1 || badmaps+=" ${p##*/}"
	done
	assert_eq "every egr_* pin is a map" "" "$badmaps"
	pe=$(bpftool prog show pinned "$D/prog_egress" -j)
	ps=$(bpftool prog show pinned "$D/prog_sockops" -j)
	assert_eq "prog_egress: cgroup_skb egr_egress" "cgroup_skb egr_egress" \
		"$(jq -r '"\(.type) \(.name)"' <<<"$pe")"
	assert_eq "prog_sockops: sock_ops egr_sockops" "sock_ops egr_sockops" \
		"$(jq -r '"\(.type) \(.name)"' <<<"$ps")"
	pe_id=$(jq -r .id <<<"$pe") ps_id=$(jq -r .id <<<"$ps")
	le=$(bpftool link show pinned "$D/link_egress" -j)
	assert_eq "link_egress: cgroup link, egress, this cgroup, prog_egress" \
		"cgroup cgroup_inet_egress $TID $pe_id" \
		"$(jq -r '"\(.type) \(.attach_type) \(.cgroup_id) \(.prog_id)"' <<<"$le")"
	assert_eq "link_sockops: cgroup link, sock_ops, this cgroup, prog_sockops" \
		"cgroup cgroup_sock_ops $TID $ps_id" \
		"$(bpftool link show pinned "$D/link_sockops" -j | jq -r '"\(.type) \(.attach_type) \(.cgroup_id) \(.prog_id)"')"
	assert_eq "bpftool link show: exactly these seven cgroup links for the cgroup" \
		"$(want_links "$D")" "$(cg_links "$TID")"
	assert_eq "bpftool cgroup show: egr_egress (the pinned program) on the cgroup" "$pe_id egr_egress" \
		"$(cg_progs "$TCG" cgroup_inet_egress)"
	assert_eq "status -j: bpffs mounted" true "$("$EGR" status -j | jq -r .kernel.bpffs)"
	skip "attach mounts bpffs when it is not mounted" "not tested: would unmount the host's bpffs"
	# enforcement after egressctl exits; a new process sees the same rules
	assert_eq "the rule in force" "allow $A4/32 udp:9000" "$(egr_rules "$TGT")"
	enforce_ok "egressctl has exited" "$TCG"
}

# SIGKILL in the middle of commands: every policy the commands can leave
# allows udp:9000 to A and denies udp:9002; two streams run through it all.
test_sigkill_mid_command() {
	local D pins rules0 pe_id pe_now killed=0 states='' d c r
	pins_new kills
	D=$EGR_PINS/$TID
	pins=$(pin_names "$D")
	rules0=$(egr_rules "$TGT")
	pe_id=$(bpftool prog show pinned "$D/prog_egress" -j | jq -r .id)
	awk 'BEGIN { print "default: deny"; print "rules:";
		printf "  - allow: %s\n    ports: [udp:9000]\n", "'"$A4"'";
		for (i = 0; i < 20000; i++)
			printf "  - deny: 10.%d.%d.%d/32\n", int(i / 65536), int(i / 256) % 256, i % 256 }' >"$T/big.yaml"
	printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:9000]\n  - allow: %s\n    ports: [tcp]\n' \
		"$A4" "$NET1.0/24" >"$T/alt.yaml"
	printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:9000]\n' "$A4" >"$T/p0.yaml"
	stream_start s9000 "$A4" 9000 -i 2000 || return 1
	stream_start s9002 "$A4" 9002 -i 2000 || return 1
	for d in 0 2 5 10 20 40 80 120 160 200; do
		for c in "allow $TGT $A4 udp:9001" "apply $TGT -f $T/alt.yaml" "apply $TGT -f $T/big.yaml" \
			"list $TGT" "status -j" "deny $TGT any"; do
			# shellcheck disable=SC2086 # word splitting of the command is wanted
			kill_after "$d" "$EGR" $c && killed=$((killed + 1))
			r=$(egr_rules "$TGT")
			if [ "$r" != "$rules0" ]; then
				# the command finished (or flipped) before the kill: undo it
				states+=" ${c%% *}@$d"
				"$EGR" apply "$TGT" -f "$T/p0.yaml" >/dev/null || diag "undo after ${c%% *}@$d failed"
			fi
		done
	done
	diag "$killed commands SIGKILLed while running; completed before the kill:$states"
	stream_stop s9000
	assert_eq "stream udp:9000 during the kills: no send failed" "0 yes" \
		"$STREAM_ERRORS $([ "$STREAM_SENT" -gt 0 ] && echo yes)"
	assert_eq "stream udp:9000 during the kills: every datagram arrived" "$STREAM_SENT" "$STREAM_RX"
	stream_stop s9002
	assert_eq "stream udp:9002 during the kills: every send denied" "0 yes" \
		"$STREAM_SENT $([ "$STREAM_ERRORS" -gt 0 ] && echo yes)"
	assert_eq "stream udp:9002 during the kills: nothing arrived" 0 "$STREAM_RX"
	assert_eq "after the kills: the same rules for a new process" "$rules0" "$(egr_rules "$TGT")"
	assert_eq "after the kills: default deny" deny "$("$EGR" list "$TGT" -j | jq -r '.[0].default')"
	# big.yaml is over the capacity: an apply of it that got far enough
	# swapped in a bigger instance (same links, updated)
	pe_now=$(bpftool prog show pinned "$D/prog_egress" -j | jq -r .id)
	[ "$pe_now" = "$pe_id" ] || diag "the capacity grew during the kills (program $pe_id -> $pe_now)"
	assert_eq "after the kills: the pinned program on the cgroup" "$pe_now egr_egress" \
		"$(cg_progs "$TCG" cgroup_inet_egress)"
	assert_eq "after the kills: the same links" "$(want_links "$D")" "$(cg_links "$TID")"
	assert_eq "after the kills: the same pins" "$pins" "$(pin_names "$D")"
	enforce_ok "after 60 SIGKILLed commands" "$TCG"
}

# a cgroup for the attach/detach kills (not attached); cg2, id2, D2
kill_cgroup() {
	cg2=$(cg_new "$1")
	id2=$(stat -c %i "$cg2")
	D2=$EGR_PINS/$id2
	echo "$cg2 $id2" >>"$E2E_TMP/.attached"
}

# attach killed at points spread over a full attach: all or nothing, or
# what kstate.c says a killed attach may leave, which the next attach
# mends: tmp-<cgid>-<pid> (maps and programs pinned, not yet renamed into
# place: nothing on the cgroup; kstate_clean_stale() removes it), or the
# cgroup's directory with links missing (attach_links() adds them).
test_attach_killed() {
	local t0 full bad=0 made=0 notmade=0 tmps=0 unlinked=0 pct d np tmp
	kill_cgroup pins2
	t0=$(now_ms)
	assert_rc "pins2: a full attach" 0 "$EGR" attach "cgroup:$cg2"
	full=$(($(now_ms) - t0))
	assert_rc "pins2: detach" 0 "$EGR" detach "cgroup:$cg2"
	diag "attach takes $full ms"
	for pct in 0 10 20 30 40 50 60 70 80 90 95 100; do
		d=$((full * pct / 100))
		kill_after "$d" "$EGR" attach "cgroup:$cg2"
		np=$(n_egress "$cg2")
		tmp=$(ls -1d "$EGR_PINS"/tmp-"$id2"-* 2>/dev/null)
		if [ -n "$tmp" ] || { [ -d "$D2" ] && [ -n "$(missing_pins "$D2")" ]; }; then
			if [ -n "$tmp" ]; then
				tmps=$((tmps + 1))
				diag "attach killed after $d ms left $tmp ($(pin_names "$tmp" | wc -w) pins, $np programs on the cgroup)"
				if [ -d "$D2" ] || [ "$np" -ne 0 ]; then
					diag "a temporary directory beside a filter on the cgroup"
					bad=$((bad + 1))
				fi
			else
				unlinked=$((unlinked + 1))
				diag "attach killed after $d ms left $D2 without:$(missing_pins "$D2")"
			fi
			if ! "$EGR" attach "cgroup:$cg2" >/dev/null; then
				diag "attach after the leftover failed"
				bad=$((bad + 1))
			fi
			if [ -n "$tmp" ] && [ -e "$tmp" ]; then
				diag "the next attach did not remove $tmp"
				bad=$((bad + 1))
				rm -rf "$tmp"
			fi
			complete "attach killed after $d ms, then attach" "$cg2" "$D2" || bad=$((bad + 1))
			"$EGR" detach "cgroup:$cg2" >/dev/null || bad=$((bad + 1))
		elif [ -d "$D2" ]; then
			made=$((made + 1))
			complete "attach killed after $d ms" "$cg2" "$D2" || bad=$((bad + 1))
			"$EGR" detach "cgroup:$cg2" >/dev/null || bad=$((bad + 1))
		else
			notmade=$((notmade + 1))
			if [ "$np" -ne 0 ]; then
				diag "attach killed after $d ms: no pins but $np programs on the cgroup"
				bad=$((bad + 1))
			fi
		fi
	done
	diag "attach SIGKILLed 12 times: $made completed, $notmade did not, $tmps left a temporary directory, $unlinked the directory without all its links"
	assert_eq "attach SIGKILLed at 12 points: all or nothing, or a leftover the next attach mends" 0 "$bad"
	assert_rc "pins2: attach after the kills" 0 "$EGR" attach "cgroup:$cg2"
	assert_eq "pins2: exactly one egr_egress" 1 "$(n_egress "$cg2")"
}

# deterministically (test hook EGRESSCTL_TEST_ATTACH_STOP): attach killed
# after pinning the maps and programs in tmp-<cgid>-<pid> (before the
# rename into place), and after the rename (before the links). Either way
# nothing runs on the cgroup, and the next attach leaves one whole filter.
test_attach_stopped() {
	local step tmp
	kill_cgroup pins8
	for step in pinned placed; do
		env EGRESSCTL_TEST_ATTACH_STOP=$step "$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
		assert_eq "$step: the attach was killed" 137 "$?"
		tmp=$(ls -1d "$EGR_PINS"/tmp-"$id2"-* 2>/dev/null)
		assert_eq "$step: no program on the cgroup" 0 "$(n_egress "$cg2")"
		if [ "$step" = pinned ]; then
			assert_eq "pinned: a temporary directory left, not the cgroup's" "1 no" \
				"$(echo "$tmp" | grep -c "tmp-$id2-") $([ -d "$D2" ] && echo yes || echo no)"
		else
			assert_eq "placed: the cgroup's directory, no temporary one, no link pins" \
				"yes 0 0" "$([ -d "$D2" ] && echo yes || echo no) $(printf %s "$tmp" | grep -c .) $(ls "$D2" | grep -c '^link_')"
		fi
		assert_rc "$step: the next attach" 0 "$EGR" attach "cgroup:$cg2"
		assert_eq "$step: the next attach removed the temporary directory" "" \
			"$(ls -1d "$EGR_PINS"/tmp-"$id2"-* 2>/dev/null)"
		complete "$step: after the next attach" "$cg2" "$D2"
		assert_eq "$step: after the next attach: all pins, one egr_egress" 0 "$?"
		assert_rc "$step: detach" 0 "$EGR" detach "cgroup:$cg2"
	done
}

# detach killed: either still attached (complete) or fully detached; and
# whatever it left, "attach" afterwards gives one enforcing program.
test_detach_killed() {
	local bad=0 gone=0 kept=0 d np
	kill_cgroup pins3
	for d in 0 1 2 3 4 6 8 12; do
		[ -d "$D2" ] || "$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
		kill_after "$d" "$EGR" detach "cgroup:$cg2"
		np=$(n_egress "$cg2")
		if [ -d "$D2" ]; then
			kept=$((kept + 1))
			complete "detach killed after $d ms" "$cg2" "$D2" || bad=$((bad + 1))
		else
			gone=$((gone + 1))
			[ "$np" -eq 0 ] || bad=$((bad + 1))
		fi
		"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
		np=$(n_egress "$cg2")
		if [ "$np" -ne 1 ]; then
			diag "detach killed after $d ms, then attach: $np egr_egress programs on the cgroup"
			bad=$((bad + 1))
		fi
	done
	diag "detach SIGKILLed 8 times: $gone completed, $kept did not"
	assert_eq "detach SIGKILLed at 8 points: attached and complete, or fully gone; attach works after" \
		0 "$bad"
}

# kill_in_syscall SYSCALLS N CMD...: SIGKILL CMD at the entry of its N-th
# call of one of SYSCALLS (space separated).
kill_in_syscall() {
	local sc=$1 n=$2
	shift 2
	timeout 60 gdb -q -batch -nx -ex "catch syscall $sc" -ex "ignore 1 $((2 * (n - 1)))" -ex run \
		-ex 'info registers rip' -ex kill --args "$@" >"$T/gdb.out" 2>&1
	grep -q 'Catchpoint 1 (call to syscall' "$T/gdb.out"
}

# The same two kills at their worst moment, made deterministic by gdb
# stopping the command at a syscall and killing it there: attach just
# before it renames its temporary pin directory into place, detach after
# its first unlink.
test_killed_at_worst_moment() {
	local tmp np dir links missing
	if ! command -v gdb >/dev/null; then
		skip "attach/detach killed at their worst moment" "gdb not installed"
		return 0
	fi
	kill_cgroup pins4
	kill_in_syscall "rename renameat renameat2" 1 "$EGR" attach "cgroup:$cg2" ||
		diag "attach never called rename: $(tail -3 "$T/gdb.out")"
	tmp=$(ls -1d "$EGR_PINS"/tmp-"$id2"-* 2>/dev/null)
	np=$(n_egress "$cg2")
	dir=$([ -d "$D2" ] && echo attached || echo "not attached")
	# A killed attach may leave its temporary directory (maps and
	# programs, never links: nothing of it is attached); the next
	# command removes it.
	links=
	[ -n "$tmp" ] && links=$(find "$tmp" -maxdepth 1 -name 'link_*' -printf '%f\n')
	assert_eq "attach killed before its rename: no links left in a temporary directory" "" "$links"
	"$EGR" status >/dev/null 2>&1
	assert_eq "attach killed before its rename: the next command removes the temporary pins" "" \
		"$(ls -1d "$EGR_PINS"/tmp-"$id2"-* 2>/dev/null)"
	if [ "$dir" = attached ]; then
		assert_eq "attach killed before its rename: attached, one program" 1 "$np"
	else
		assert_eq "attach killed before its rename: not attached, no program on the cgroup" 0 "$np"
	fi
	"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
	assert_eq "attach killed before its rename, then attach: one egr_egress" 1 "$(n_egress "$cg2")"
	"$EGR" detach "cgroup:$cg2" >/dev/null 2>&1
	assert_eq "... then detach: no egr_egress left on the cgroup" 0 "$(n_egress "$cg2")"
	rm -rf "$EGR_PINS"/tmp-"$id2"-*

	"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
	kill_in_syscall "unlink unlinkat" 2 "$EGR" detach "cgroup:$cg2" ||
		diag "detach never called unlink twice: $(tail -3 "$T/gdb.out")"
	np=$(n_egress "$cg2")
	if [ -d "$D2" ]; then
		missing=$(missing_pins "$D2")
		assert_eq "detach killed after its first unlink: still attached and complete" \
			"missing: , programs: 1" "missing:$missing, programs: $np"
	else
		assert_eq "detach killed after its first unlink: fully detached" 0 "$np"
	fi
	"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
	assert_eq "detach killed after its first unlink, then attach: one egr_egress" 1 "$(n_egress "$cg2")"
	"$EGR" detach "cgroup:$cg2" >/dev/null 2>&1
	pins_new pins5
	enforce_ok "another cgroup: unaffected by these attach/detach kills" "$TCG"
}

# detach: nothing left
test_detach_leaves_nothing() {
	local D pe pe_id ps_id map_ids rules_map inner left m
	pins_new detach
	D=$EGR_PINS/$TID
	pe=$(bpftool prog show pinned "$D/prog_egress" -j)
	pe_id=$(jq -r .id <<<"$pe")
	ps_id=$(bpftool prog show pinned "$D/prog_sockops" -j | jq -r .id)
	map_ids=$(jq -r '.map_ids[]' <<<"$pe" | sort -n | tr '\n' ' ')
	rules_map=$(bpftool map show pinned "$D/egr_rules" -j | jq -r .id)
	inner=$(bpftool map dump pinned "$D/egr_v4" -j |
		jq -r '.[].value | map(ltrimstr("0x")) | reverse | join("")' | head -1)
	inner=$((16#$inner))
	assert_rc "detach" 0 "$EGR" detach "$TGT"
	assert_eq "detach output" "detached from cgroup:/egr-e2e-$E2E_ID-detach" "$LAST_OUT"
	assert_eq "bpftool cgroup show: nothing on the cgroup" "" "$(bpftool cgroup show "$TCG")"
	assert_eq "bpftool link show: no link for the cgroup" "" "$(cg_links "$TID")"
	assert_eq "the pin directory is gone" no "$([ -e "$D" ] && echo yes || echo no)"
	assert_eq "no temporary directories" "" "$(ls -1d "$EGR_PINS"/tmp-"$TID"-* 2>/dev/null)"
	assert_eq "status no longer lists the cgroup" "" "$(egr_status "$TID")"
	wait_for 15 sh -c '! bpftool prog show id "$1" >/dev/null 2>&1 && ! bpftool prog show id "$2" >/dev/null 2>&1' \
		sh "$pe_id" "$ps_id"
	assert_eq "both programs are freed" "no no" \
		"$(bpftool prog show id "$pe_id" >/dev/null 2>&1 && echo yes || echo no) $(bpftool prog show id "$ps_id" >/dev/null 2>&1 && echo yes || echo no)"
	left=
	for m in $map_ids $rules_map $inner; do
		wait_for 15 sh -c '! bpftool map show id "$1" >/dev/null 2>&1' sh "$m"
		bpftool map show id "$m" >/dev/null 2>&1 && left+=" $m"
	done
	assert_eq "the program's maps and the inner tries are freed" "" "$left"
	expect_udp pass "$A4" 9001 -m "after detach: traffic flows unfiltered (v4)"
	expect_udp pass "$A6" 9001 -m "after detach: traffic flows unfiltered (v6)"
	assert_rc "detach again: fails" 1 "$EGR" detach "$TGT"
	assert_match "detach again: not attached" "is not attached" "$LAST_ERR"
}

_defunct() { [ "$(egr_status "$1" | jq -r .attached)" = false ]; }

test_cgroup_removed_while_attached() {
	egr_new gone
	rmdir "$TCG"
	wait_for 15 _defunct "$TID"
	assert_eq "gone: status -j says not attached" false "$(egr_status "$TID" | jq -r .attached)"
	assert_match "gone: status marks it and names the command" \
		"DEFUNCT: the cgroup is gone \(egressctl detach --gone removes it\)" \
		"$("$EGR" status | grep -A1 "(id $TID)" | tr "\n" " ")"
	assert_rc "gone: detach cgroup:<its old path>" 0 "$EGR" detach "$TGT"
	assert_eq "gone: its pins are removed" no "$([ -e "$EGR_PINS/$TID" ] && echo yes || echo no)"
}

# Defunct targets are told once per command, and `detach --gone` removes
# every one of them (and nothing else).
test_detach_gone() {
	local a aid b bid n kid
	egr_new keep
	kid=$TID
	egr_new gone1
	a=$TCG aid=$TID
	egr_new gone2
	b=$TCG bid=$TID
	rmdir "$a" "$b"
	wait_for 15 _defunct "$aid" && wait_for 15 _defunct "$bid"
	assert_rc "gone: list works" 0 "$EGR" list
	n=$(grep -c 'defunct' <<<"$LAST_ERR")
	assert_eq "gone: list says it once" 1 "$n"
	assert_match "gone: ... naming the command" \
		"^egressctl: warning: [0-9]+ attached targets are defunct: .*egressctl detach --gone removes them$" \
		"$LAST_ERR"
	assert_match "gone: status ends with the same line" \
		"attached targets are defunct: .*egressctl detach --gone removes them$" "$("$EGR" status)"
	assert_rc "detach --gone" 0 "$EGR" detach --gone
	assert_match "detach --gone: names the first" "detached cgid:$aid \(its cgroup is gone\)" "$LAST_OUT"
	assert_match "detach --gone: names the second" "detached cgid:$bid \(its cgroup is gone\)" "$LAST_OUT"
	assert_eq "detach --gone: their pins are removed" "no no" \
		"$([ -e "$EGR_PINS/$aid" ] && echo yes || echo no) $([ -e "$EGR_PINS/$bid" ] && echo yes || echo no)"
	assert_eq "detach --gone: the live target stays" true "$(egr_status "$kid" | jq -r .attached)"
	assert_rc "detach --gone again" 0 "$EGR" detach --gone
	assert_eq "detach --gone again: nothing to do" "no defunct targets" "$LAST_OUT"
	assert_rc "list: no defunct line any more" 0 "$EGR" list
	assert_eq "list: stderr empty" "" "$LAST_ERR"
	assert_rc "detach --gone with a target: usage" 1 "$EGR" detach --gone "$TGT"
}

# An instance made by another egressctl version (upgrade): its egr_meta says
# ABI 1: nothing but detach may touch it, its filter keeps enforcing, and
# every command says how to upgrade.
test_other_map_layout() {
	local meta val
	local -a b
	pins_new oldabi
	meta=$EGR_PINS/$TID/egr_meta
	val=$(bpftool map lookup pinned "$meta" key 0 0 0 0 -j | jq -r '.value | map(ltrimstr("0x")) | join(" ")')
	read -r -a b <<<"$val"
	b[4]=01 b[5]=00 b[6]=00 b[7]=00 # abi (bytes 4-7, little endian) = 1
	assert_true "oldabi: egr_meta rewritten to ABI 1" \
		bpftool map update pinned "$meta" key 0 0 0 0 value hex "${b[@]}"
	assert_rc "oldabi: allow refused" 1 "$EGR" allow "$TGT" "$A4" udp:9005
	assert_match "oldabi: the message says how to upgrade" "another map layout \(ABI 1, this one [0-9]+\).*egressctl detach" "$LAST_ERR"
	assert_rc "oldabi: attach refused" 1 "$EGR" attach "$TGT"
	assert_match "oldabi: status names it" "another map layout" "$("$EGR" status)"
	enforce_ok "oldabi: its filter still enforces" "$TCG"
	assert_rc "oldabi: detach works" 0 "$EGR" detach "$TGT"
	assert_rc "oldabi: attach again (upgraded)" 0 egr_attach "$TCG"
	assert_rc "oldabi: allow works again" 0 "$EGR" allow "$TGT" "$A4" udp:9004
}

run_tests
