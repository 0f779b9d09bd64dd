#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The benchmark harness (bench/run.sh, `make bench`) at smoke size: tiny N,
# one repetition, every phase once, so the harness never rots. Checks that
# each phase produced data, that every filter let the bench traffic through
# (and refused the denied connects),
# that the report came out with its targets table and plots, and that the
# run left nothing behind. The numbers themselves are not judged here.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init
need_egr

BUILD=$(dirname "$EGR")
OUT=$E2E_TMP/bench
for b in blast kops gen_policy prog_ns floor.bpf.o; do
	[ -e "$BUILD/bench/$b" ] || bail "bench helper $BUILD/bench/$b missing (make bench-build)"
done

t0=$(date +%s)
timeout 170 bash "$E2E_ROOT/bench/run.sh" --smoke --build "$BUILD" --out "$OUT" >"$E2E_TMP/smoke.log" 2>&1
rc=$?
t1=$(date +%s)
if [ "$rc" -eq 0 ]; then
	pass "bench smoke: run.sh --smoke exits 0"
else
	fail "bench smoke: run.sh --smoke exits 0" "exit $rc" "$(tail -n 20 "$E2E_TMP/smoke.log")"
fi
assert_range "bench smoke: finishes in < 60 s" 0 59 $((t1 - t0))

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

md=$OUT/BENCHMARKS.md
assert_eq "bench smoke: report has 10 target rows with PASS/FAIL" 10 \
	"$(grep -cE '^\| .* \| \*\*(PASS|FAIL)\*\* \|$' "$md" 2>/dev/null)"
assert_match "bench smoke: apply is atomic (probe saw old policy, then new, never neither)" \
	'\| \*\*PASS\*\* \|$' "$(grep 'old policy enforced' "$md" 2>/dev/null)"
if command -v gnuplot >/dev/null; then
	for p in cost_vs_rules.png bpf_ns_vs_rules.png; do
		assert_eq "bench smoke: plot $p" PNG "$(head -c 4 "$OUT/$p" 2>/dev/null | tail -c 3)"
	done
else
	skip "bench smoke: plots" "gnuplot not installed"
fi

# nothing left behind
id=$(sed -n 's/.*bench: id \(egrb[0-9a-f]*\),.*/\1/p' "$OUT/log.txt" 2>/dev/null | head -1)
if [ -n "$id" ]; then
	assert_eq "bench smoke: no namespaces left" 0 "$(ip netns list | grep -c "^$id-")"
	assert_eq "bench smoke: no cgroups left" 0 "$(find "$CGROOT" -maxdepth 1 -name "$id" | wc -l)"
	assert_eq "bench smoke: no pins left" 0 "$(find /sys/fs/bpf -maxdepth 1 -name "$id" | wc -l)"
	assert_eq "bench smoke: no memory cgroups left" 0 \
		"$(find /sys/fs/cgroup/memory -maxdepth 1 -name "$id-*" 2>/dev/null | wc -l)"
else
	fail "bench smoke: run id in log.txt"
fi
diag "$(grep -E '^\| (egressctl at|one live edit)' "$md" 2>/dev/null)"
e2e_done
