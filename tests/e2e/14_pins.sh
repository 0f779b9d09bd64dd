#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Pinned state: attach pins the program, links and maps under
# /sys/fs/bpf/egressctl/<cgroup id>/ and the cgroup link shows in bpftool;
# enforcement lives in the kernel, so it goes on after egressctl exits or
# is SIGKILLed in the middle of any command (allow, apply, list, status,
# attach, detach; attach and detach also at their worst moment, made
# deterministic with gdb); every new process sees the same rules; detach
# removes the program, links, maps and the directory, and traffic flows
# again; a cgroup removed while attached can still be cleaned up.
# Needs jq; the deterministic kill points need gdb (skipped without).
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# shellcheck disable=SC2317 # functions run from traps and assert_rc
set -u
export LC_ALL=C
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init
need_egr
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"

# ---- egressctl helpers -------------------------------------------------------
# shellcheck source=tests/e2e/egr_lib.sh
. "$(dirname "$0")/egr_lib.sh"

# programs of one attach type on a cgroup, "id name" lines
cg_progs() { bpftool cgroup show "$1" -j 2>/dev/null | jq -r --arg t "$2" '.[]? | select(.attach_type == $t) | "\(.id) \(.name)"'; }
# links of a cgroup id, "attach_type prog_id" lines
cg_links() { bpftool link show -j | jq -r --argjson id "$1" '.[] | select(.type == "cgroup" and .cgroup_id == $id) | "\(.attach_type) \(.prog_id)"' | sort; }

# pin_names DIR: the names in DIR, sorted, on one line
pin_names() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//'; }
REQUIRED_PINS="egr_audit egr_comm egr_ctl egr_events egr_evcfg egr_free egr_hits egr_meta egr_rules egr_sk egr_stats egr_v4 egr_v6 link_connect4 link_connect6 link_egress link_sendmsg4 link_sendmsg6 link_sockops prog_connect4 prog_connect6 prog_egress prog_sendmsg4 prog_sendmsg6 prog_sockops"

# ---- setup --------------------------------------------------------------------
pick_nets 1
S=${E2E_ID:2:6}
NA=k14a$S
netns_up "$NA" "$NET1.2/24" "$NET6_1::2/64"
A4=$(ns_ip4 "$NA") A6=$(ns_ip6 "$NA")
T=$E2E_TMP

cg=$(cg_new pins)
id=$(stat -c %i "$cg")
CG=cgroup:$cg
D=$EGR_PINS/$id

# enforce_ok NAME: udp:9000 to A arrives (10), udp:9001 does not (0).
enforce_ok() {
	local r1 r2
	peer_bg "$NA" "$T/e1" udp-recv 9000 3
	peer_bg "$NA" "$T/e2" udp-recv 9001 3
	cg_run "$cg" "$PEER" udp-send "$A4" 9000 10 >/dev/null 2>&1
	cg_run "$cg" "$PEER" udp-send "$A4" 9001 10 >/dev/null 2>&1
	r1=$(wait_bg "$T/e1") r2=$(wait_bg "$T/e2")
	assert_eq "$1: allowed arrives, denied does not" "10 0" "$r1 $r2"
}

assert_eq "before attach: no pin directory" no "$([ -e "$D" ] && echo yes || echo no)"
assert_eq "before attach: no program on the cgroup" "" "$(cg_progs "$cg" cgroup_inet_egress)"

# ---- attach: the pins --------------------------------------------------------------
assert_rc "attach" 0 egr_attach "$cg"
assert_rc "allow $A4 udp:9000" 0 "$EGR" allow "$CG" "$A4" udp:9000
assert_eq "pin root $EGR_PINS is root-only (0700)" "700 root" "$(stat -c '%a %U' "$EGR_PINS")"
assert_eq "pin directory $D is root-only (0700)" "700 root" "$(stat -c '%a %U' "$D")"
pins=$(pin_names "$D")
diag "pins: $pins"
missing=
for p in $REQUIRED_PINS; do [ -e "$D/$p" ] || missing+=" $p"; done
assert_eq "all required pins present" "" "$missing"
assert_eq "nothing but link_*, prog_*, egr_* pins" "" \
	"$(pin_names "$D" | tr ' ' '\n' | grep -Ev '^(link_[a-z0-9]+|prog_[a-z0-9]+|egr_[a-z0-9_]+)$')"
assert_eq "no temporary directory left by attach" "" "$(ls -1d "$EGR_PINS"/tmp-"$id"-* 2>/dev/null)"
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
	"cgroup cgroup_inet_egress $id $pe_id" \
	"$(jq -r '"\(.type) \(.attach_type) \(.cgroup_id) \(.prog_id)"' <<<"$le")"
assert_eq "link_sockops: cgroup link, sock_ops, this cgroup, prog_sockops" \
	"cgroup cgroup_sock_ops $id $ps_id" \
	"$(bpftool link show pinned "$D/link_sockops" -j | jq -r '"\(.type) \(.attach_type) \(.cgroup_id) \(.prog_id)"')"
# the socket hooks: cgroup_inet4_connect ... cgroup_udp6_sendmsg
sock_links() {
	local h t
	for h in connect4:inet4_connect connect6:inet6_connect sendmsg4:udp4_sendmsg \
		sendmsg6:udp6_sendmsg; do
		t=${h#*:}
		echo "cgroup_$t $(bpftool prog show pinned "$D/prog_${h%%:*}" -j | jq -r .id)"
	done
}
all_links=$(sort <<<"cgroup_inet_egress $pe_id
cgroup_sock_ops $ps_id
$(sock_links)")
assert_eq "bpftool link show: exactly these six cgroup links for the cgroup" \
	"$all_links" "$(cg_links "$id")"
assert_eq "bpftool cgroup show: egr_egress (the pinned program) on the cgroup" "$pe_id egr_egress" \
	"$(cg_progs "$cg" cgroup_inet_egress)"
map_ids=$(jq -r '.map_ids[]' <<<"$pe" | sort -n | tr '\n' ' ')
rules_map=$(bpftool map show pinned "$D/egr_rules" -j | jq -r .id)
inner=$(bpftool map dump pinned "$D/egr_v4" -j |
	jq -r '.[].value | map(ltrimstr("0x")) | reverse | join("")' | head -1)
inner=$((16#$inner))
assert_eq "status -j: bpffs mounted" true "$("$EGR" status -j | jq -r .kernel.bpffs)"
skip "attach mounts bpffs when it is not mounted" "not tested: would unmount the host's bpffs"

# ---- enforcement after egressctl exits; a new process sees the same rules --------------
rules0=$(egr_rules "$CG")
assert_eq "the rule in force" "allow $A4/32 udp:9000" "$rules0"
enforce_ok "egressctl has exited"

# ---- SIGKILL in the middle of commands -------------------------------------------------
awk 'BEGIN { print "default: deny"; print "rules:";
	printf "  - allow: %s\n    ports: [udp:9000]\n", "'"$A4"'";
	for (i = 0; i < 20000; i++)
		printf "  - deny: 10.%d.%d.%d/32\n", int(i / 65536), int(i / 256) % 256, i % 256 }' >"$T/big.yaml"
printf 'default: deny\nrules:\n  - allow: %s\n    ports: [udp:9000]\n  - allow: %s\n    ports: [tcp]\n' \
	"$A4" "$NET1.0/24" >"$T/alt.yaml"
# Every policy the commands below can leave allows udp:9000 to A and denies
# udp:9002: two streams run through all of it.
peer_bg "$NA" "$T/k9000" udp-recv 9000 300
peer_bg "$NA" "$T/k9002" udp-recv 9002 300
run_bg - "$T/s9000" cg_run "$cg" "$PEER" udp-send "$A4" 9000 1000000 -i 2000 -t 250
run_bg - "$T/s9002" cg_run "$cg" "$PEER" udp-send "$A4" 9002 1000000 -i 2000 -t 250
killed=0 states=
for d in 0 2 5 10 20 40 80 120 160 200; do
	for c in "allow $CG $A4 udp:9001" "apply $CG -f $T/alt.yaml" "apply $CG -f $T/big.yaml" \
		"list $CG" "status -j" "deny $CG any"; do
		# shellcheck disable=SC2086 # word splitting of the command is wanted
		"$EGR" $c >/dev/null 2>&1 &
		pid=$!
		msleep "$d"
		kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
		wait "$pid" 2>/dev/null
		r=$(egr_rules "$CG")
		if [ "$r" != "$rules0" ]; then
			# the command finished (or flipped) before the kill: undo it
			states+=" ${c%% *}@$d"
			"$EGR" apply "$CG" -f /dev/stdin >/dev/null <<EOF || fail "undo after ${c%% *}@$d"
default: deny
rules:
  - allow: $A4
    ports: [udp:9000]
EOF
		fi
	done
done
diag "$killed commands SIGKILLed while running; completed before the kill:$states"
sleep 0.2
_kill_tree TERM "$(cat "$T/s9000.pid")"
_kill_tree TERM "$(cat "$T/s9002.pid")"
o9000=$(wait_bg "$T/s9000" 10) o9002=$(wait_bg "$T/s9002" 10)
diag "streams: udp:9000 '$o9000', udp:9002 '$o9002'"
sleep 0.5
_kill_tree TERM "$(cat "$T/k9000.pid")"
_kill_tree TERM "$(cat "$T/k9002.pid")"
r9000=$(wait_bg "$T/k9000" 10) r9002=$(wait_bg "$T/k9002" 10)
assert_match "stream udp:9000 during the kills: no send failed" "^sent [1-9][0-9]* errors 0\$" "$o9000"
assert_eq "stream udp:9000 during the kills: every datagram arrived" \
	"$(awk '{ print $2 }' <<<"$o9000")" "$r9000"
assert_match "stream udp:9002 during the kills: every send denied" "^sent 0 errors [1-9]" "$o9002"
assert_eq "stream udp:9002 during the kills: nothing arrived" 0 "$r9002"
assert_eq "after the kills: the same rules for a new process" "$rules0" "$(egr_rules "$CG")"
assert_eq "after the kills: default deny" deny "$("$EGR" list "$CG" -j | jq -r '.[0].default')"
assert_eq "after the kills: the same pinned program on the cgroup" "$pe_id egr_egress" \
	"$(cg_progs "$cg" cgroup_inet_egress)"
assert_eq "after the kills: the same links" "$all_links" "$(cg_links "$id")"
assert_eq "after the kills: the same pins" "$pins" "$(pin_names "$D")"
enforce_ok "after 60 SIGKILLed commands"

# attach killed at various points: all or nothing, no leftovers
cg2=$(cg_new pins2)
id2=$(stat -c %i "$cg2")
D2=$EGR_PINS/$id2
echo "$cg2 $id2" >>"$E2E_TMP/.attached"
t0=$(now_ms)
assert_rc "pins2: a full attach" 0 "$EGR" attach "cgroup:$cg2"
full=$(($(now_ms) - t0))
assert_rc "pins2: detach" 0 "$EGR" detach "cgroup:$cg2"
diag "attach takes $full ms"
bad=0 made=0 notmade=0
for pct in 0 10 20 30 40 50 60 70 80 90 95 100; do
	d=$((full * pct / 100))
	"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1 &
	pid=$!
	msleep "$d"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	np=$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)
	tmp=$(ls -1d "$EGR_PINS"/tmp-"$id2"-* 2>/dev/null)
	if [ -n "$tmp" ]; then
		diag "attach killed after $d ms left $tmp behind ($(pin_names "$tmp" | wc -w) pins, $np programs on the cgroup)"
		bad=$((bad + 1))
		rm -rf "$tmp"
	fi
	if [ -d "$D2" ]; then
		made=$((made + 1))
		missing=
		for p in $REQUIRED_PINS; do [ -e "$D2/$p" ] || missing+=" $p"; done
		if [ -n "$missing" ] || [ "$np" -ne 1 ]; then
			diag "attach killed after $d ms: pins missing:$missing, $np programs"
			bad=$((bad + 1))
		fi
		"$EGR" detach "cgroup:$cg2" >/dev/null || bad=$((bad + 1))
	else
		notmade=$((notmade + 1))
		if [ "$np" -ne 0 ]; then
			diag "attach killed after $d ms: no pins but $np programs on the cgroup"
			bad=$((bad + 1))
		fi
	fi
done
diag "attach SIGKILLed 12 times: $made completed, $notmade did not"
assert_eq "attach SIGKILLed at 12 points: all or nothing, no leftovers" 0 "$bad"
assert_rc "pins2: attach after the kills" 0 "$EGR" attach "cgroup:$cg2"
assert_eq "pins2: exactly one egr_egress" 1 "$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)"

# detach killed: either still attached (complete) or fully detached; and
# whatever it left, "attach" afterwards gives one enforcing program.
bad=0 gone=0 kept=0
for d in 0 1 2 3 4 6 8 12; do
	[ -d "$D2" ] || "$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
	"$EGR" detach "cgroup:$cg2" >/dev/null 2>&1 &
	pid=$!
	msleep "$d"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	np=$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)
	if [ -d "$D2" ]; then
		kept=$((kept + 1))
		missing=
		for p in $REQUIRED_PINS; do [ -e "$D2/$p" ] || missing+=" $p"; done
		if [ -n "$missing" ] || [ "$np" -ne 1 ]; then
			diag "detach killed after $d ms: pins missing:$missing, $np programs"
			bad=$((bad + 1))
		fi
	else
		gone=$((gone + 1))
		[ "$np" -eq 0 ] || bad=$((bad + 1))
	fi
	"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
	np=$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)
	if [ "$np" -ne 1 ]; then
		diag "detach killed after $d ms, then attach: $np egr_egress programs on the cgroup"
		bad=$((bad + 1))
	fi
done
diag "detach SIGKILLed 8 times: $gone completed, $kept did not"
assert_eq "detach SIGKILLed at 8 points: attached and complete, or fully gone; attach works after" \
	0 "$bad"
"$EGR" detach "cgroup:$cg2" >/dev/null 2>&1

# The same two kills at their worst moment, made deterministic by gdb
# stopping the command at a syscall and killing it there: attach just
# before it renames its temporary pin directory into place, detach after
# its first unlink.
# kill_in_syscall SYSCALLS N CMD...: SIGKILL CMD at the entry of its N-th
# call of one of SYSCALLS (space separated).
kill_in_syscall() {
	local sc=$1 n=$2
	shift 2
	timeout 60 gdb -q -batch -nx -ex "catch syscall $sc" -ex "ignore 1 $((2 * (n - 1)))" -ex run \
		-ex 'info registers rip' -ex kill --args "$@" >"$T/gdb.out" 2>&1
	grep -q 'Catchpoint 1 (call to syscall' "$T/gdb.out"
}
if command -v gdb >/dev/null; then
	kill_in_syscall "rename renameat renameat2" 1 "$EGR" attach "cgroup:$cg2" ||
		diag "attach never called rename: $(tail -3 "$T/gdb.out")"
	tmp=$(ls -1d "$EGR_PINS"/tmp-"$id2"-* 2>/dev/null)
	np=$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)
	dir=$([ -d "$D2" ] && echo attached || echo "not attached")
	# A killed attach may leave its temporary directory (maps and
	# programs, never links: nothing of it is attached); the next
	# command removes it.
	links=
	[ -n "$tmp" ] && links=$(ls "$tmp" | grep '^link_')
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
	assert_eq "attach killed before its rename, then attach: one egr_egress" 1 \
		"$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)"
	"$EGR" detach "cgroup:$cg2" >/dev/null 2>&1
	assert_eq "... then detach: no egr_egress left on the cgroup" 0 \
		"$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)"
	rm -rf "$EGR_PINS"/tmp-"$id2"-*

	"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
	kill_in_syscall "unlink unlinkat" 2 "$EGR" detach "cgroup:$cg2" ||
		diag "detach never called unlink twice: $(tail -3 "$T/gdb.out")"
	np=$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)
	if [ -d "$D2" ]; then
		missing=
		for p in $REQUIRED_PINS; do [ -e "$D2/$p" ] || missing+=" $p"; done
		assert_eq "detach killed after its first unlink: still attached and complete" \
			"missing: , programs: 1" "missing:$missing, programs: $np"
	else
		assert_eq "detach killed after its first unlink: fully detached" 0 "$np"
	fi
	"$EGR" attach "cgroup:$cg2" >/dev/null 2>&1
	assert_eq "detach killed after its first unlink, then attach: one egr_egress" 1 \
		"$(cg_progs "$cg2" cgroup_inet_egress | grep -c egr_egress)"
	"$EGR" detach "cgroup:$cg2" >/dev/null 2>&1
else
	skip "attach/detach killed at their worst moment" "gdb not installed"
fi
enforce_ok "pins: unaffected by pins2's attach/detach"

# ---- detach: nothing left -------------------------------------------------------------
assert_rc "detach" 0 "$EGR" detach "$CG"
assert_eq "detach output" "detached from cgroup:/egr-e2e-$E2E_ID-pins" "$LAST_OUT"
assert_eq "bpftool cgroup show: nothing on the cgroup" "" "$(bpftool cgroup show "$cg")"
assert_eq "bpftool link show: no link for the cgroup" "" "$(cg_links "$id")"
assert_eq "the pin directory is gone" no "$([ -e "$D" ] && echo yes || echo no)"
assert_eq "no temporary directories" "" "$(ls -1d "$EGR_PINS"/tmp-"$id"-* 2>/dev/null)"
assert_eq "status no longer lists the cgroup" "" "$(egr_status "$id")"
wait_for 5 sh -c '! bpftool prog show id "$1" >/dev/null 2>&1 && ! bpftool prog show id "$2" >/dev/null 2>&1' \
	sh "$pe_id" "$ps_id"
assert_eq "both programs are freed" "no no" \
	"$(bpftool prog show id "$pe_id" >/dev/null 2>&1 && echo yes || echo no) $(bpftool prog show id "$ps_id" >/dev/null 2>&1 && echo yes || echo no)"
left=
for m in $map_ids $rules_map $inner; do
	wait_for 5 sh -c '! bpftool map show id "$1" >/dev/null 2>&1' sh "$m"
	bpftool map show id "$m" >/dev/null 2>&1 && left+=" $m"
done
assert_eq "the program's maps and the inner tries are freed" "" "$left"
peer_bg "$NA" "$T/x1" udp-recv 9001 3
peer_bg "$NA" "$T/x2" udp-recv -6 9001 3
cg_run "$cg" "$PEER" udp-send "$A4" 9001 10 >/dev/null 2>&1
cg_run "$cg" "$PEER" udp-send "$A6" 9001 10 >/dev/null 2>&1
assert_eq "after detach: traffic flows unfiltered (v4, v6)" "10 10" \
	"$(wait_bg "$T/x1") $(wait_bg "$T/x2")"
assert_rc "detach again: fails" 1 "$EGR" detach "$CG"
assert_match "detach again: not attached" "is not attached" "$LAST_ERR"

# ---- a cgroup removed while attached ------------------------------------------------------
cg3=$(cg_new gone)
id3=$(stat -c %i "$cg3")
assert_rc "gone: attach" 0 egr_attach "$cg3"
rmdir "$cg3"
for i in $(seq 50); do
	[ "$(egr_status "$id3" | jq -r .attached)" = false ] && break
	sleep 0.1
done
assert_eq "gone: status -j says not attached" false "$(egr_status "$id3" | jq -r .attached)"
assert_match "gone: status tells to run detach" "DEFUNCT.*egressctl detach cgid:$id3" \
	"$("$EGR" status | grep -A1 "(id $id3)" | tr "\n" " ")"
assert_rc "gone: detach cgroup:<its old path> (as status advises)" 0 "$EGR" detach "cgroup:$cg3"
assert_eq "gone: its pins are removed" no "$([ -e "$EGR_PINS/$id3" ] && echo yes || echo no)"

# ---- an instance made by another egressctl version (upgrade) ------------------------------
# Its egr_meta says ABI 1: nothing but detach may touch it, its filter keeps
# enforcing, and every command says how to upgrade.
cg4=$(cg_new oldabi)
id4=$(stat -c %i "$cg4")
assert_rc "oldabi: attach, allow $A4 udp:9004" 0 sh -c '"$1" attach "$2" >/dev/null 2>&1 && "$1" allow "$2" "$3" udp:9004' \
	sh "$EGR" "cgroup:$cg4" "$A4"
meta=$EGR_PINS/$id4/egr_meta
val=$(bpftool map lookup pinned "$meta" key 0 0 0 0 -j | jq -r '.value | map(ltrimstr("0x")) | join(" ")')
read -r -a b <<<"$val"
b[4]=01 b[5]=00 b[6]=00 b[7]=00 # abi (bytes 4-7, little endian) = 1
bpftool map update pinned "$meta" key 0 0 0 0 value hex "${b[@]}" ||
	fail "oldabi: could not rewrite egr_meta"
assert_rc "oldabi: allow refused" 1 "$EGR" allow "cgroup:$cg4" "$A4" udp:9005
assert_match "oldabi: the message says how to upgrade" "another map layout \(ABI 1, this one [0-9]+\).*egressctl detach" "$LAST_ERR"
assert_rc "oldabi: attach refused" 1 "$EGR" attach "cgroup:$cg4"
assert_match "oldabi: status names it" "another map layout" "$("$EGR" status)"
peer_bg "$NA" "$T/o1" udp-recv 9004 3
cg_run "$cg4" "$PEER" udp-send "$A4" 9004 5 >/dev/null 2>&1
cg_run "$cg4" "$PEER" udp-send "$A4" 9006 5 >/dev/null 2>&1
assert_eq "oldabi: its filter still enforces (the 5 allowed datagrams arrive)" 5 "$(wait_bg "$T/o1")"
assert_rc "oldabi: detach works" 0 "$EGR" detach "cgroup:$cg4"
assert_rc "oldabi: attach again (upgraded)" 0 egr_attach "$cg4"
assert_rc "oldabi: allow works again" 0 "$EGR" allow "cgroup:$cg4" "$A4" udp:9004

e2e_done
