#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The benchmark harness (bench/run.sh, `make bench`) at smoke size: tiny N,
# one repetition, every phase once, so the harness never rots. Checks that
# each phase produced data, that every filter let the bench traffic through
# (and refused the denied connects at once),
# that the report came out with its targets table and plots, that the
# apply probe never saw neither policy, and that the run left nothing
# behind. The numbers themselves (and how long the run took) are not judged
# here.
# shellcheck disable=SC2317 # the cases run from run_tests
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_start egr

ALL_TESTS="test_smoke_run test_data test_report test_nothing_left"

BUILD=${EGR_BUILD:-$(dirname "${EGR_BIN:-$E2E_ROOT/build/egressctl}")}
OUT=$E2E_TMP/bench
MD=$OUT/BENCHMARKS.md
for b in blast kops gen_policy prog_ns floor.bpf.o; do
	[ -e "$BUILD/bench/$b" ] || bail "bench helper $BUILD/bench/$b missing (make bench-build)"
done

test_smoke_run() {
	local t0 t1 rc
	t0=$(date +%s)
	timeout 600 bash "$E2E_ROOT/bench/run.sh" --smoke --build "$BUILD" --out "$OUT" >"$E2E_TMP/smoke.log" 2>&1
	rc=$?
	t1=$(date +%s)
	diag "bench smoke: run.sh --smoke took $((t1 - t0)) s"
	if [ "$rc" -eq 0 ]; then
		pass "bench smoke: run.sh --smoke exits 0"
	else
		fail "bench smoke: run.sh --smoke exits 0" "exit $rc" "$(tail -n 20 "$E2E_TMP/smoke.log")"
	fi
	assert_match "bench smoke: the log says it is done" "bench done in [0-9]+ s" "$(cat "$OUT/log.txt" 2>/dev/null)"
}

test_data() {
	local f n bad nconf
	for f in prog_ns.csv udp.csv tcp.csv crr.csv connlat.csv bpfstats.csv edit_kernel.csv \
		edit_cmd.csv bulk.csv attach.csv setup.csv; do
		n=$(wc -l <"$OUT/$f" 2>/dev/null || echo 0)
		assert_range "bench smoke: $f has data" 2 100000000 "$n"
	done
	# every configuration sent, nothing refused the bench's own traffic
	bad=$(awk -F, 'NR > 1 && ($4 <= 0 || $5 != 0) { print $1 }' "$OUT/udp.csv" 2>/dev/null | tr '\n' ' ')
	nconf=$(awk -F, 'NR > 1 && !s[$1]++' "$OUT/udp.csv" 2>/dev/null | wc -l)
	assert_eq "bench smoke: UDP from every config reached the receiver, no refusals" "" "$bad"
	assert_range "bench smoke: 11 traffic configurations" 11 11 "$nconf"
	assert_eq "bench smoke: every edit phase row is add/remove/trie_update" "" \
		"$(awk -F, 'NR > 1 && $4 !~ /^(add|remove|trie_update)$/' "$OUT/edit_kernel.csv" 2>/dev/null)"
	assert_match "bench smoke: attach became enforcing" '^16384,1,[0-9]+,[0-9]+$' \
		"$(sed -n 2p "$OUT/attach.csv" 2>/dev/null)"
	assert_eq "bench smoke: every connect of the rate loop went through" "" \
		"$(awk -F, 'NR > 1 && ($4 <= 0 || $5 != 0) { print $1 }' "$OUT/crr.csv" 2>/dev/null | tr '\n' ' ')"
	assert_eq "bench smoke: every denied connect was refused at once" "" \
		"$(awk -F, 'NR > 1 && $4 != $5 { print $1 }' "$OUT/connlat.csv" 2>/dev/null | tr '\n' ' ')"
	if command -v dnsmasq >/dev/null; then
		# name by name in turn: every name resolved and connected from
		# each of the three cgroups, in each of the smoke run's 2 rounds;
		# the BPF time of both filters read
		assert_eq "bench smoke: resolve+connect: 3 configurations x 2 rounds, every name connected" \
			"3 6 " "$(awk -F, 'NR > 1 { c[$1] = 1; n++; if ($3 <= 0 || $4 != $3 || $5 != 0) bad = bad $1 " " }
				END { print length(c), n, bad }' "$OUT/dnsfail.csv" 2>/dev/null)"
		assert_eq "bench smoke: resolve+connect: BPF time of both filters' connect4" "dns-ip dns-names" \
			"$(awk -F, 'NR > 1 && $4 == "connect4" && $6 > 0 && !s[$1]++ { print $1 }' \
				"$OUT/dnsbpf.csv" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')"
	else
		skip "bench smoke: resolve+connect" "dnsmasq not installed"
	fi
	# atomic.txt: the probe's states during one apply ("state OLD/NEW ...");
	# whether it caught both sides depends on timing (the report's PASS),
	# that it never saw neither policy does not
	assert_eq "bench smoke: apply probe: never neither policy (no 0/0 state), no other send error" "0 0" \
		"$(awk '$1 == "state" && $2 == "0/0" { n++ } $1 == "changes" { o = $4 } END { print n + 0, o + 0 }' "$OUT/atomic.txt" 2>/dev/null)"
	diag "apply probe states: $(awk '$1 == "state" { printf "%s ", $2 }' "$OUT/atomic.txt" 2>/dev/null)"
}

test_report() {
	local p
	assert_eq "bench smoke: report has 12 target rows with PASS/FAIL" 12 \
		"$(grep -cE '^\| .* \| \*\*(PASS|FAIL)\*\* \|$' "$MD" 2>/dev/null)"
	diag "the report's atomic-apply row: $(grep 'old policy enforced' "$MD" 2>/dev/null)"
	if command -v gnuplot >/dev/null; then
		for p in cost_vs_rules.png bpf_ns_vs_rules.png; do
			assert_eq "bench smoke: plot $p" PNG "$(head -c 4 "$OUT/$p" 2>/dev/null | tail -c 3)"
		done
	else
		skip "bench smoke: plots" "gnuplot not installed"
	fi
	diag "$(grep -E '^\| (egressctl at|one live edit)' "$MD" 2>/dev/null)"
}

# nothing left behind
test_nothing_left() {
	local id
	id=$(sed -n 's/.*bench: id \(egrb[0-9a-f]*\),.*/\1/p' "$OUT/log.txt" 2>/dev/null | head -1)
	[ -n "$id" ] || fail "bench smoke: run id in log.txt"
	assert_eq "bench smoke: no namespaces left" 0 "$(ip netns list | grep -c "^$id-")"
	assert_eq "bench smoke: no cgroups left" 0 "$(find "$CGROOT" -maxdepth 1 -name "$id" | wc -l)"
	assert_eq "bench smoke: no pins left" 0 "$(find /sys/fs/bpf -maxdepth 1 -name "$id" | wc -l)"
	assert_eq "bench smoke: no memory cgroups left" 0 \
		"$(find /sys/fs/cgroup/memory -maxdepth 1 -name "$id-*" 2>/dev/null | wc -l)"
}

run_tests
