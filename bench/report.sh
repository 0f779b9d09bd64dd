#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/report.sh RESULTS_DIR OUT_MD
#
# Turns the raw data of one bench/run.sh run into OUT_MD (tables, targets
# with pass/fail) and PNG plots (gnuplot) next to the data. Plain bash + awk
# (mawk-compatible) + gnuplot. Figures are medians with (min-max) over the
# interleaved rounds; "ratio" columns are computed per round (both sides
# measured back to back) and then summarized.
set -u
shopt -s lastpipe # `... | load X` fills the arrays of this shell
R=${1:?usage: report.sh RESULTS_DIR OUT_MD}
MD=${2:?usage: report.sh RESULTS_DIR OUT_MD}
R=$(cd "$R" && pwd)
MDDIR=$(cd "$(dirname "$MD")" && pwd)
# how the markdown file refers to the results directory
case $R in
"$MDDIR") REL=. ;;
"$MDDIR"/*) REL=${R#"$MDDIR"/} ;;
*) REL=$R ;;
esac

env_get() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$R/env.txt"; }
NS=$(env_get ns)
IPT_NS=$(env_get ipt_ns)
SMOKE=$(env_get smoke)
NEMAX=0
for n in $NS; do [ "$n" -gt "$NEMAX" ] && NEMAX=$n; done
NMIN=$(echo "$NS" | awk '{ print $1 }')

# ---- statistics --------------------------------------------------------------
# summ: stdin "KEY VALUE" lines -> "KEY MEDIAN MIN MAX COUNT" (first-seen order)
summ() {
	awk '
	function isort(A, n,   i, j, t) {
		for (i = 2; i <= n; i++) {
			t = A[i]
			for (j = i - 1; j >= 1 && A[j] > t; j--) A[j + 1] = A[j]
			A[j + 1] = t
		}
	}
	NF >= 2 {
		k = $1
		if (!(k in cnt)) { order[++no] = k; cnt[k] = 0 }
		cnt[k]++
		v[k, cnt[k]] = $2 + 0
	}
	END {
		for (i = 1; i <= no; i++) {
			k = order[i]; m = cnt[k]
			for (j = 1; j <= m; j++) t[j] = v[k, j]
			isort(t, m)
			md = m % 2 ? t[(m + 1) / 2] : (t[m / 2] + t[m / 2 + 1]) / 2
			printf "%s %.9g %.9g %.9g %d\n", k, md, t[1], t[m], m
		}
	}'
}

declare -A MED MIN MAX CNT
# load PREFIX: read summ output into MED[PREFIX:KEY] etc.
load() {
	local p=$1 k md mn mx c
	while read -r k md mn mx c; do
		MED[$p:$k]=$md MIN[$p:$k]=$mn MAX[$p:$k]=$mx CNT[$p:$k]=$c
	done
}
has() { [ -n "${MED[$1]+x}" ]; }
# fmt KEY SCALE DECIMALS: "median (min-max)" of a loaded key, scaled
fmt() {
	has "$1" || { echo "n/a"; return; }
	awk -v a="${MED[$1]}" -v b="${MIN[$1]}" -v c="${MAX[$1]}" -v s="${2:-1}" -v d="${3:-1}" -v n="${CNT[$1]}" \
		'BEGIN { f = "%." d "f"; if (n > 1) printf f " (" f "–" f ")\n", a * s, b * s, c * s; else printf f "\n", a * s }'
}
# num KEY SCALE DECIMALS: the median only
num() {
	has "$1" || { echo "n/a"; return; }
	awk -v a="${MED[$1]}" -v s="${2:-1}" -v d="${3:-1}" 'BEGIN { printf "%." d "f\n", a * s }'
}
medv() { has "$1" && echo "${MED[$1]}" || echo ""; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 < b + 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 >= b + 0) }'; }
pf() { if "$@"; then echo PASS; else echo FAIL; fi; }
hum() { # N -> 10, 1k, 100k, 1M
	awk -v n="$1" 'BEGIN { if (n >= 1000000 && n % 1000000 == 0) printf "%dM", n / 1e6;
		else if (n >= 1000 && n % 1000 == 0) printf "%dk", n / 1e3; else printf "%d", n }'
}
cfg_n() { case $1 in none | noop) echo 0 ;; *) echo "${1#*-}" ;; esac; }
fam() { case $1 in none) echo "no filter" ;; noop) echo "empty BPF program" ;; lpm1-*) echo "one LPM lookup" ;;
	egr-*) echo egressctl ;; ipt-*) echo "iptables chain" ;; ips-*) echo "ipset hash:net" ;; nft-*) echo "nft interval set" ;; esac; }

# ---- load the data ---------------------------------------------------------------
# cpu_rates CSV PREFIX: a UDP CSV's figures from the sender's CPU time (column 9),
# as PREFIX{rcvd,cpu,cpur,cpuo,cpuns,cpuvs}: received share, packets per
# CPU-second, per round ratio to "none", ns over "none", ns per packet, and
# egressctl over each netfilter config of the same N.
cpu_rates() {
	local f=$1 p=$2
	awk -F, 'NR > 1 && $4 > 0 { print $1, $8 / $4 }' "$f" | summ | load "${p}rcvd"
	awk -F, 'NR > 1 && $9 > 0 { print $1, $4 / $9 }' "$f" | summ | load "${p}cpu"
	awk -F, 'NR > 1 && $9 > 0 { p[$1, $3] = $4 / $9; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) for (x in r) if (p["none", x] > 0 && p[k, x] > 0)
			print k, p[k, x] / p["none", x] }' "$f" | summ | load "${p}cpur"
	awk -F, 'NR > 1 && $9 > 0 { p[$1, $3] = $4 / $9; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) for (x in r) if (p["none", x] > 0 && p[k, x] > 0)
			print k, 1e9 / p[k, x] - 1e9 / p["none", x] }' "$f" | summ | load "${p}cpuo"
	awk -F, 'NR > 1 && $9 > 0 { print $1, 1e9 * $9 / $4 }' "$f" | summ | load "${p}cpuns"
	awk -F, 'NR > 1 && $9 > 0 { p[$1, $3] = $4 / $9; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) { if (k !~ /^(ipt|ips|nft)-/) continue; n = k; sub(/^[a-z]+-/, "", n)
			for (x in r) if (p[k, x] > 0 && p["egr-" n, x] > 0) print k, p["egr-" n, x] / p[k, x] } }' \
		"$f" | summ | load "${p}cpuvs"
}

CONFIGS=()
if [ -f "$R/udp.csv" ]; then
	mapfile -t CONFIGS < <(awk -F, 'NR > 1 && !s[$1]++ { print $1 }' "$R/udp.csv")
	awk -F, 'NR > 1 { print $1, $7 }' "$R/udp.csv" | summ | load udp
	# per round: ratio to "none", ns per packet, ns over "none"
	awk -F, 'NR > 1 { p[$1, $3] = $7; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) for (x in r) if (p["none", x] > 0 && p[k, x] > 0)
			print k, p[k, x] / p["none", x] }' "$R/udp.csv" | summ | load udpr
	awk -F, 'NR > 1 { print $1, 1e9 / $7 }' "$R/udp.csv" | summ | load udpns
	awk -F, 'NR > 1 { p[$1, $3] = $7; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) for (x in r) if (p["none", x] > 0 && p[k, x] > 0)
			print k, 1e9 / p[k, x] - 1e9 / p["none", x] }' "$R/udp.csv" | summ | load udpo
	# egressctl vs each netfilter config of the same N, per round
	awk -F, 'NR > 1 { p[$1, $3] = $7; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) { if (k !~ /^(ipt|ips|nft)-/) continue; n = k; sub(/^[a-z]+-/, "", n)
			for (x in r) if (p[k, x] > 0 && p["egr-" n, x] > 0) print k, p["egr-" n, x] / p[k, x] } }' \
		"$R/udp.csv" | summ | load udpvs
	cpu_rates "$R/udp.csv" ""
	# share of the sender's wall time it actually had a CPU
	awk -F, 'NR > 1 && $6 > 0 { print "all", $9 / $6 }' "$R/udp.csv" | summ | load busy
fi
if [ -f "$R/tcp.csv" ]; then
	awk -F, 'NR > 1 { print $1, $6 }' "$R/tcp.csv" | summ | load tcp
	awk -F, 'NR > 1 { p[$1, $3] = $6; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) for (x in r) if (p["none", x] > 0) print k, p[k, x] / p["none", x] }' \
		"$R/tcp.csv" | summ | load tcpr
fi
if [ ${#CONFIGS[@]} -eq 0 ] && [ -f "$R/tcp.csv" ]; then
	mapfile -t CONFIGS < <(awk -F, 'NR > 1 && !s[$1]++ { print $1 }' "$R/tcp.csv")
fi
if [ -f "$R/tcp.csv" ]; then
	# Gbit per CPU-second of sender + receiver (columns 7 and 8)
	awk -F, 'NR > 1 && $7 + $8 > 0 { print $1, $4 * 8 / ($7 + $8) / 1e9 }' "$R/tcp.csv" | summ | load tcpc
	awk -F, 'NR > 1 && $7 + $8 > 0 { p[$1, $3] = $4 / ($7 + $8); c[$1] = 1; r[$3] = 1 }
		END { for (k in c) for (x in r) if (p["none", x] > 0) print k, p[k, x] / p["none", x] }' \
		"$R/tcp.csv" | summ | load tcpcr
fi
[ -f "$R/bpfstats.csv" ] && awk -F, 'NR > 1 && $4 > 0 { print $1, $6 }' "$R/bpfstats.csv" | summ | load bst
[ -f "$R/bpfstats_md.csv" ] && awk -F, 'NR > 1 && $4 > 0 { print $1, $6 }' "$R/bpfstats_md.csv" | summ | load bstm
MD_CONFIGS=()
if [ -f "$R/udp_md.csv" ]; then
	# the many-destinations flow: the same figures from the sender's CPU time
	mapfile -t MD_CONFIGS < <(awk -F, 'NR > 1 && !s[$1]++ { print $1 }' "$R/udp_md.csv")
	cpu_rates "$R/udp_md.csv" md
fi
[ -f "$R/prog_ns.csv" ] && awk -F, 'NR > 1 { print $1 "/" $2 "/" $3, $5 }' "$R/prog_ns.csv" | summ | load tr
[ -f "$R/edit_kernel.csv" ] && awk -F, 'NR > 1 { print $1 "/" $4, $5 / 1000 }' "$R/edit_kernel.csv" | summ | load ke
[ -f "$R/edit_cmd.csv" ] && awk -F, 'NR > 1 { print $1 "/" $4, $5 * 1000 }' "$R/edit_cmd.csv" | summ | load ce
if [ -f "$R/bulk.csv" ]; then
	awk -F, 'NR > 1 { print $1, $4 }' "$R/bulk.csv" | summ | load bulk
	awk -F, 'NR > 1 { print $1, $5 }' "$R/bulk.csv" | summ | load bulkc
	awk -F, 'NR > 1 { t[$1, $3] = $4; c[$1] = 1; r[$3] = 1 }
		END { for (k in c) { if (k !~ /^(ipt|ips|nft)-/) continue; n = k; sub(/^[a-z]+-/, "", n)
			for (x in r) if (t["egr-" n, x] > 0 && t[k, x] > 0) print k, t[k, x] / t["egr-" n, x] } }' \
		"$R/bulk.csv" | summ | load bulkvs
fi
[ -f "$R/startup.csv" ] && awk -F, 'NR > 1 { print $1, $2 * 1000 }' "$R/startup.csv" | summ | load st
[ -f "$R/attach.csv" ] && awk -F, 'NR > 1 { print $1 "/cmd", $3 / 1e6; if ($4 >= 0) print $1 "/enf", $4 / 1e6 }' \
	"$R/attach.csv" | summ | load att

# ---- targets ------------------------------------------------------------------------
E=egr-$NEMAX
T1_R=$(medv "cpur:$E")
T1=$(pf ge "$T1_R" 0.95)
B_LO=$(medv "bst:egr-$NMIN")
B_HI=$(medv "bst:$E")
T2_G=$(awk -v a="$B_LO" -v b="$B_HI" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a }')
T2=$(pf lt "$T2_G" 2)
BM_G=$(awk -v a="$(medv "bstm:egr-$NMIN")" -v b="$(medv "bstm:$E")" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a }')
TR_LO=$(medv "tr:$NMIN/0/v4_hit")
TR_HI=$(medv "tr:$NEMAX/0/v4_hit")
TR_G=$(awk -v a="$TR_LO" -v b="$TR_HI" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a }')
TR6_G=$(awk -v a="$(medv "tr:$NMIN/0/v6_hit")" -v b="$(medv "tr:$NEMAX/0/v6_hit")" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a }')
TRN_G=$(awk -v a="$(medv "tr:$NMIN/0/v4_hit_nc")" -v b="$(medv "tr:$NEMAX/0/v4_hit_nc")" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a }')
TRN6_G=$(awk -v a="$(medv "tr:$NMIN/0/v6_hit_nc")" -v b="$(medv "tr:$NEMAX/0/v6_hit_nc")" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a }')
TRR_G=$(awk -v a="$(medv "tr:$NMIN/0/v4_rand1")" -v b="$(medv "tr:$NEMAX/0/v4_rand1")" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a }')

# T3: egressctl beats every netfilter config at N >= 1k (or the two largest N in a smoke run)
T3_LINES=()
T3=PASS
for n in $NS; do
	[ "$n" -ge 1000 ] || [ "$SMOKE" = 1 ] || continue
	for x in ipt ips nft; do
		c=$x-$n
		has "udp:$c" || continue
		# packet rate: egressctl faster in the median of per-round ratios
		r=$(medv "cpuvs:$c")
		ok_p=$(pf ge "$r" 1)
		# update latency (whole command, add and remove)
		ea=$(medv "ce:egr-$n/add") er=$(medv "ce:egr-$n/remove") xa=$(medv "ce:$c/add") xr=$(medv "ce:$c/remove")
		ok_u=FAIL
		lt "$ea" "$xa" && lt "$er" "$xr" && ok_u=PASS
		[ -z "$xa" ] && ok_u=n/a
		ok_b=n/a
		if has "bulk:$c"; then ok_b=$(pf lt "$(medv "bulk:egr-$n")" "$(medv "bulk:$c")"); fi
		[ "$ok_p" = FAIL ] || [ "$ok_u" = FAIL ] || [ "$ok_b" = FAIL ] && T3=FAIL
		ratio_u=$(awk -v e="$ea" -v x="$xa" -v f="$er" -v y="$xr" 'BEGIN { if (e > 0 && f > 0) printf "%.2fx / %.2fx", x / e, y / f; else print "n/a" }')
		T3_LINES+=("| $(hum "$n") | $(fam "$c") | $(fmt "cpuvs:$c" 1 2)x ($(num "udpvs:$c" 1 2)x) | $ok_p | $ratio_u | $ok_u | $(fmt "bulkvs:$c" 1 2)x | $ok_b |")
	done
done
K_ADD=$(medv "ke:$E/add") K_REM=$(medv "ke:$E/remove")
T4K=FAIL
lt "$K_ADD" 50 && lt "$K_REM" 50 && T4K=PASS
C_ADD=$(medv "ce:$E/add")
T4C=$(pf lt "$C_ADD" 20)
A_REP=$(medv "bulk:egr-replace-$NEMAX")
A_NEW=$(medv "bulk:$E")
T5T=FAIL
lt "$A_REP" 3 && lt "$A_NEW" 3 && T5T=PASS
# atomic probe: states must go 1/0 -> (1/1) -> 0/1, never 0/0
T5A=FAIL
ATOMIC_DESC="not measured"
if [ -f "$R/atomic.txt" ]; then
	ATOMIC_DESC=$(awk '
		$1 == "apply_start_ns" { s = $2 } $1 == "apply_end_ns" { e = $2 }
		$1 == "state" { seq = seq (seq ? " → " : "") $2 " (" $4 " samples)"; st[++n] = $2; from[n] = $6 }
		$1 == "changes" { oth = $4 }
		END {
			ok = n >= 2 && st[1] == "1/0" && st[n] == "0/1" && oth == 0
			for (i = 1; i <= n; i++) if (st[i] == "0/0" || (i > 1 && i < n && st[i] != "1/1")) ok = 0
			flip = 0; for (i = 2; i <= n; i++) if (st[i] == "0/1") { flip = from[i]; break }
			printf "%s|%s|%.0f|%.0f\n", ok ? "PASS" : "FAIL", seq, (flip - s) / 1e6, (e - s) / 1e6
		}' "$R/atomic.txt")
	T5A=${ATOMIC_DESC%%|*}
fi
IFS='|' read -r _ AT_SEQ AT_FLIP AT_DUR <<<"$ATOMIC_DESC"

# ---- plots ------------------------------------------------------------------------------
PLOT1=$R/cost_vs_rules.png
PLOT2=$R/bpf_ns_vs_rules.png
PLOT3=$R/overhead_vs_rules.png
if [ -f "$R/udp.csv" ] && command -v gnuplot >/dev/null; then
	{
		echo "# N none egr ipt ips nft (sender CPU ns per packet, median)"
		for n in $(printf '%s\n' $NS $IPT_NS | sort -nu); do
			printf '%s %s' "$n" "$(num "cpuns:none" 1 1)"
			for x in egr ipt ips nft; do
				if has "cpuns:$x-$n"; then printf ' %s' "$(num "cpuns:$x-$n" 1 1)"; else printf ' ?'; fi
			done
			echo
		done
	} >"$R/plot_cost.dat"
	{
		echo "# N egr ips nft noop lpm1 (sender CPU ns per packet over no filter, median of per-round differences)"
		for n in $(printf '%s\n' $NS $IPT_NS | sort -nu); do
			printf '%s' "$n"
			for k in "cpuo:egr-$n" "cpuo:ips-$n" "cpuo:nft-$n" "cpuo:noop" "cpuo:lpm1-$NEMAX"; do
				if has "$k"; then printf ' %s' "$(num "$k" 1 1)"; else printf ' ?'; fi
			done
			echo
		done
	} >"$R/plot_over.dat"
	{
		echo "# N bpfstats testrun_v4hit testrun_v6hit testrun_v4rand1 testrun_v4hit_ports lpm1 bpfstats_md testrun_v4hit_nc testrun_v6hit_nc"
		for n in $NS; do
			printf '%s' "$n"
			for k in "bst:egr-$n" "tr:$n/0/v4_hit" "tr:$n/0/v6_hit" "tr:$n/0/v4_rand1" "tr:$n/1/v4_hit" "bst:lpm1-$n" \
				"bstm:egr-$n" "tr:$n/0/v4_hit_nc" "tr:$n/0/v6_hit_nc"; do
				if has "$k"; then printf ' %s' "$(num "$k" 1 1)"; else printf ' ?'; fi
			done
			echo
		done
	} >"$R/plot_bpf.dat"
	gnuplot <<EOF 2>>"$R/log.txt"
set terminal pngcairo size 900,560 font "sans,10"
set datafile missing "?"
set logscale xy
set grid
set key top left
set xlabel "prefixes in force (N)"
set format x "10^{%L}"

set output "$PLOT1"
set title "Per-packet cost of the whole path (sender CPU time per 64-byte UDP datagram), median of rounds"
set ylabel "CPU ns per packet"
plot "$R/plot_cost.dat" u 1:2 w l lw 2 dt 2 lc rgb "black" t "no filter", \
     "" u 1:3 w lp lw 2 pt 7 lc rgb "#1f77b4" t "egressctl", \
     "" u 1:4 w lp lw 2 pt 5 lc rgb "#d62728" t "iptables linear chain", \
     "" u 1:5 w lp lw 2 pt 9 lc rgb "#2ca02c" t "ipset hash:net", \
     "" u 1:6 w lp lw 2 pt 11 lc rgb "#ff7f0e" t "nft interval set"

set output "$PLOT3"
unset logscale y
set yrange [0:*]
set format y "%g"
set title "Filter cost per packet: CPU ns over no filter (UDP, 64-byte datagrams), median of rounds"
set ylabel "ns per packet over no filter"
plot "$R/plot_over.dat" u 1:2 w lp lw 2 pt 7 lc rgb "#1f77b4" t "egressctl", \
     "" u 1:3 w lp lw 2 pt 9 lc rgb "#2ca02c" t "ipset hash:net", \
     "" u 1:4 w lp lw 2 pt 11 lc rgb "#ff7f0e" t "nft interval set", \
     "" u 1:5 w l lw 1 dt 2 lc rgb "black" t "empty BPF program (the hook's floor)", \
     "" u 1:6 w l lw 1 dt 3 lc rgb "#9467bd" t "one LPM lookup, $(hum "$NEMAX") prefixes", \
     $(awk -v a="$(medv "cpuns:none")" 'BEGIN { printf "%.1f", (a > 0 ? a : 0) * (1 / 0.95 - 1) }') w l lw 2 lc rgb "#d62728" t "budget of the 95% target"
set logscale y
set yrange [*:*]

set output "$PLOT2"
set title "egressctl BPF run time per packet against rule count"
set ylabel "ns per packet"
plot "$R/plot_bpf.dat" u 1:2 w lp lw 2 pt 7 t "live, one socket (verdict cache; bpf\\\\_stats)", \
     "" u 1:8 w lp lw 2 pt 7 dt 2 t "live, every datagram to another address (bpf\\\\_stats)", \
     "" u 1:3 w lp lw 2 pt 5 t "test\\\\_run IPv4, same flow (cache)", \
     "" u 1:9 w lp lw 2 pt 5 dt 2 t "test\\\\_run IPv4, cache off", \
     "" u 1:4 w lp lw 2 pt 9 t "test\\\\_run IPv6, same flow (cache)", \
     "" u 1:10 w lp lw 2 pt 9 dt 2 t "test\\\\_run IPv6, cache off", \
     "" u 1:6 w lp lw 2 pt 11 t "test\\\\_run IPv4 with port rules (cache)", \
     "" u 1:5 w lp lw 2 pt 13 t "test\\\\_run IPv4, 512 random destinations", \
     "" u 1:7 w p ps 2 pt 3 t "one LPM lookup program (bpf\\\\_stats)"
EOF
fi

# ---- figures for bench/analysis.md ------------------------------------------------
calc() { awk "BEGIN { x = $1; printf \"%.${2:-0}f\", x }" 2>/dev/null; }
perfpct() { # CONFIG REGEX -> summed % of matching symbols
	[ -f "$R/perf.csv" ] || { echo 0; return; }
	awk -F, -v c="$1" -v re="$2" 'NR > 1 && $1 == c && $3 ~ re { t += $2 } END { printf "%.1f", t }' "$R/perf.csv"
}
phase_s() { awk -v k="$1" '$1 == k { printf "%.2f", $2 / 1e9 }' "$R/apply_phases.txt" 2>/dev/null; }
kmem_per() { awk -F, -v c="$1" '$1 == c && $4 > 0 { printf "%.0f", $4 / $2 }' "$R/setup.csv" 2>/dev/null; }
analysis_sed() {
	local E=egr-$NEMAX L=lpm1-$NEMAX none_ns trie_pct e1m_ns trie_ns rest
	none_ns=$(medv "cpuns:none")
	trie_pct=$(perfpct "$E" '^trie_lookup_elem$')
	e1m_ns=$(medv "cpuns:$E")
	trie_ns=$(calc "$trie_pct / 100 * ${e1m_ns:-0}")
	rest=$(calc "${MED[cpuo:$E]:-0} - ${MED[cpuo:$L]:-0}")
	local pparse pev pread prb pfill ppar pcomp psingle outer
	pparse=$(phase_s parse_ns) pev=$(phase_s yaml_events_ns) pread=$(phase_s read_live_ns)
	prb=$(phase_s read_batch_ns) ppar=$(phase_s fill_parallel_ns) pcomp=$(phase_s compile_ns)
	psingle=$(phase_s fill_single_v4_ns)
	pfill=$(awk '$1 == "fill_batch_v4_ns" { a = $2 } $1 == "fill_batch_v6_ns" { b = $2 } END { printf "%.2f", (a + b) / 1e9 }' "$R/apply_phases.txt" 2>/dev/null)
	outer=$(awk '$1 == "outer_update_ns" { printf "%.0f", $2 / 1e6 }' "$R/apply_phases.txt" 2>/dev/null)
	local arep asmall stall stcore cadd proj
	arep=$(medv "bulk:egr-replace-$NEMAX") asmall=$(medv "bulk:egr-1000")
	stall=$(medv "st:startup_all") stcore=$(medv "st:startup_core") cadd=$(medv "ce:$E/add")
	proj=$(calc "${arep:-0} - (${pparse:-0} - ${pev:-0}) - (${pread:-0} - ${prb:-0}) - (${pfill:-0} - ${ppar:-0})" 1)
	kv() { printf 's|@%s@|%s|g\n' "$1" "${2:-n/a}"; }
	kv T1 "$(num "cpur:$E" 100 1)"
	kv NONE_NS "$(num "cpuns:none" 1 0)"
	kv BUDGET "$(calc "${none_ns:-0} * (1 / 0.95 - 1)")"
	kv NOOP_O "$(num "cpuo:noop" 1 0)"
	kv NOOP_R "$(num "cpur:noop" 100 1)"
	kv NOOP_RF "$(fmt "cpur:noop" 100 1)"
	kv E1M_RF "$(fmt "cpur:$E" 100 1)"
	kv LPM_O "$(num "cpuo:$L" 1 0)"
	kv LPM_R "$(num "cpur:$L" 100 1)"
	kv E10_O "$(num "cpuo:egr-$NMIN" 1 0)"
	kv E10_R "$(num "cpur:egr-$NMIN" 100 1)"
	kv E1M_O "$(num "cpuo:$E" 1 0)"
	kv E1M_R "$(num "cpur:$E" 100 1)"
	kv TRIE_PCT "$trie_pct"
	kv PROG_PCT "$(perfpct "$E" 'egr_egress|walk_step')"
	kv TRIE_NS "$trie_ns"
	kv TRIE_ONLY "$(calc "${MED[cpuo:$L]:-0} - ${MED[cpuo:noop]:-0}")"
	kv REST_NS "$rest"
	kv NFT_PCT "$(perfpct "nft-$NEMAX" '^nft_.*lookup')"
	kv IPS_PCT "$(perfpct "ips-$NEMAX" '^hash_net4_test$')"
	kv TR_HIT10 "$(num "tr:$NMIN/0/v4_hit" 1 0)"
	kv TR_HIT1M "$(num "tr:$NEMAX/0/v4_hit" 1 0)"
	kv TR6_10 "$(num "tr:$NMIN/0/v6_hit" 1 0)"
	kv TR6_1M "$(num "tr:$NEMAX/0/v6_hit" 1 0)"
	kv TR_RAND10 "$(num "tr:$NMIN/0/v4_rand1" 1 0)"
	kv TR_RAND1M "$(num "tr:$NEMAX/0/v4_rand1" 1 0)"
	kv TR_RAND_G "$TRR_G"
	kv TR_G "$TR_G"
	kv TR6_G "$TR6_G"
	kv BST10 "$(num "bst:egr-$NMIN" 1 0)"
	kv BST1M "$(num "bst:$E" 1 0)"
	kv BST_G "$T2_G"
	kv BST_PF "$(echo "$T2" | tr 'A-Z' 'a-z')"
	kv INSNS "$(grep -o 'verified_insns [0-9]*' "$R/prog_ns.info" 2>/dev/null | awk '{ print $2; exit }')"
	kv VS_NFT1M "$(num "cpuvs:nft-$NEMAX" 1 2)"
	kv VS_IPT1K "$(num "cpuvs:ipt-1000" 1 1)"
	kv VS_IPS1M "$(num "cpuvs:ips-$NEMAX" 1 2)"
	kv K_ADD1M "$(num "ke:$E/add" 1 1)"
	kv K_PUB1M "$(num "ke:$E/trie_update" 1 2)"
	kv C_ADD1M "$(num "ce:$E/add" 1 2)"
	kv ST_ALL "$(num "st:startup_all" 1 1)"
	kv ST_CORE "$(num "st:startup_core" 1 1)"
	kv ST_DIFF "$(calc "${stall:-0} - ${stcore:-0}" 1)"
	kv ST_IPSET "$(num "st:ipset_--version" 1 1)"
	kv IPS_ADD1M "$(num "ce:ips-$NEMAX/add" 1 2)"
	kv PROJ_ALLOW "$(calc "${cadd:-0} - (${stall:-0} - ${stcore:-0})" 1)"
	kv A_NEW "$(num "bulk:$E" 1 2)"
	kv A_REP "$(num "bulk:egr-replace-$NEMAX" 1 2)"
	kv T5_REP_PF "$(lt "$arep" 3 && echo pass || echo fail)"
	kv IPT_BULK1M "$(num "bulk:ipt-$NEMAX" 1 2)"
	kv NFT_BULK1M "$(num "bulk:nft-$NEMAX" 1 2)"
	kv IPS_BULK1M "$(num "bulk:ips-$NEMAX" 1 2)"
	kv A_SMALL "$(num "bulk:egr-1000" 1000 0)"
	kv A_SMALL_CPU "$(num "bulkc:egr-1000" 1000 0)"
	kv OUTER_MS "$outer"
	kv NF_SMALL "$(for k in ipt-10 ipt-1000 ips-10 ips-1000 nft-10 nft-1000; do medv "bulk:$k"; echo; done |
		awk 'NF { v = $1 * 1000; if (mn == "" || v < mn) mn = v; if (v > mx) mx = v } END { printf "%.0f–%.0f", mn, mx }')"
	kv PROJ_SMALL "$(calc "${asmall:-0} * 1000 - 5 * ${outer:-0}")"
	kv AT_SEQ "$AT_SEQ"
	kv T5A_PF "$([ "$T5A" = PASS ] && echo passes || echo fails)"
	kv AT_FLIP "$AT_FLIP"
	kv AT_DUR "$AT_DUR"
	kv PH_PARSE "$pparse"
	kv PH_COMPILE "$pcomp"
	kv PH_READ "$pread"
	kv PH_FILL "$pfill"
	kv PH_SINGLE "$psingle"
	kv PH_EV "$pev"
	kv PH_RB "$prb"
	kv PH_PAR "$ppar"
	kv PROJ_APPLY "$proj"
	kv PROJ_APPLY2 "$(calc "$proj - ${prb:-0} + 0.05" 1)"
	kv ATT_S "$(num "att:16384/cmd" 1 0)"
	kv ATT_L "$(num "att:1048576/cmd" 1 0)"
	kv MEM_E1M "$(kmem_per "$E")"
	kv MEM_IPT1M "$(kmem_per "ipt-$NEMAX")"
	kv MEM_NFT1M "$(kmem_per "nft-$NEMAX")"
	kv MEM_IPS1M "$(kmem_per "ips-$NEMAX")"
	kv CACHE_NS "$(calc "${MED[cpuo:$E]:-0} - ${MED[cpuo:noop]:-0}")"
	kv CACHE10_NS "$(calc "${MED[cpuo:egr-$NMIN]:-0} - ${MED[cpuo:noop]:-0}")"
	kv MDR_E1M "$(num "mdcpur:$E" 100 1)"
	kv MDR_E10 "$(num "mdcpur:egr-$NMIN" 100 1)"
	kv MDR_NOOP "$(num "mdcpur:noop" 100 1)"
	kv MDR_NFT1M "$(num "mdcpur:nft-$NEMAX" 100 1)"
	kv MDR_IPS1M "$(num "mdcpur:ips-$NEMAX" 100 1)"
	kv MDO_E1M "$(num "mdcpuo:$E" 1 0)"
	kv MDNS_NONE "$(num "mdcpuns:none" 1 0)"
	kv MDVS_NFT1M "$(num "mdcpuvs:nft-$NEMAX" 1 2)"
	kv MDVS_IPS1M "$(num "mdcpuvs:ips-$NEMAX" 1 2)"
	kv BSTM10 "$(num "bstm:egr-$NMIN" 1 0)"
	kv BSTM1M "$(num "bstm:$E" 1 0)"
	kv BM_G "$BM_G"
	kv TRN_HIT10 "$(num "tr:$NMIN/0/v4_hit_nc" 1 0)"
	kv TRN_HIT1M "$(num "tr:$NEMAX/0/v4_hit_nc" 1 0)"
	kv TRN6_10 "$(num "tr:$NMIN/0/v6_hit_nc" 1 0)"
	kv TRN6_1M "$(num "tr:$NEMAX/0/v6_hit_nc" 1 0)"
	kv TRN_G "$TRN_G"
	kv TRN6_G "$TRN6_G"
	kv TR_HIT1 "$(num "tr:$NEMAX/0/v4_hit1" 1 0)"
	kv VS_IPS1K "$(num "cpuvs:ips-1000" 1 2)"
	kv VS_NFT1K "$(num "cpuvs:nft-1000" 1 2)"
	kv VS_NFT100K "$(num "cpuvs:nft-100000" 1 2)"
	kv VS_IPS100K "$(num "cpuvs:ips-100000" 1 2)"
	kv C_REM1M "$(num "ce:$E/remove" 1 2)"
	kv IPS_DEL1M "$(num "ce:ips-$NEMAX/remove" 1 2)"
	kv NFT_ADD1K "$(num "ce:nft-1000/add" 1 2)"
	kv IPT_ADD1K "$(num "ce:ipt-1000/add" 1 2)"
	kv A_1K "$(num "bulk:egr-1000" 1000 1)"
	kv IPS_1K "$(num "bulk:ips-1000" 1000 1)"
	kv NFT_1K "$(num "bulk:nft-1000" 1000 1)"
	kv IPT_1K "$(num "bulk:ipt-1000" 1000 1)"
	kv A_100K "$(num "bulk:egr-100000" 1000 0)"
	kv A_REP100K "$(num "bulk:egr-replace-100000" 1000 0)"
	kv IPS_100K "$(num "bulk:ips-100000" 1000 0)"
	kv NFT_100K "$(num "bulk:nft-100000" 1000 0)"
	kv BULKVS_IPS100K "$(num "bulkvs:ips-100000" 1 2)"
	kv BULKVS_IPS1M "$(num "bulkvs:ips-$NEMAX" 1 2)"
	kv BULKVS_IPS1K "$(num "bulkvs:ips-1000" 1 2)"
	kv ST_EGR "$(num "st:egressctl_--version" 1 2)"
}

# bst_table KEY: BPF ns per packet of every program measured under KEY.
bst_table() {
	local c
	echo "| program | N | ns/packet |"
	echo "| --- | --- | --- |"
	for c in "${CONFIGS[@]}"; do
		has "$1:$c" || continue
		echo "| $(fam "$c") | $(hum "$(cfg_n "$c")") | $(fmt "$1:$c" 1 1) |"
	done
}

# ---- the document ----------------------------------------------------------------------
{
	echo "# egressctl benchmarks"
	echo
	if [ "$SMOKE" = 1 ]; then
		echo "**Smoke run** (tiny N, one repetition): checks the harness, not the numbers."
		echo
	fi
	echo "Generated by \`make bench\` (bench/run.sh, bench/report.sh) on $(env_get date)."
	echo "Raw data: \`$REL/\`. Machine: $(env_get cpu), $(env_get mem_gib) GiB, kernel $(env_get kernel);"
	echo "$(env_get iptables), $(env_get ipset), $(env_get nft). Run time $(env_get wall_s) s."
	echo
	echo "Every figure below comes from this one run. Configurations were measured interleaved"
	echo "(each round runs every configuration once, in the same order) and are reported as"
	echo "**median (min–max)** over the rounds; ratios are computed per round, between"
	echo "configurations measured back to back, then summarized. Rounds: $(env_get rounds)."
	echo
	echo "## Setup"
	echo
	echo "- Sender: \`bench/blast\` in a cgroup, pinned to CPU 1, in a network namespace, to a receiver"
	echo "  namespace over a veth pair (198.18.K.0/24 links; destination 198.19.0.1 on the receiver's"
	echo "  loopback). UDP: connected socket, \`sendmmsg()\` batches of 64 datagrams of 64 payload bytes;"
	echo "  the receiver socket is never read (the kernel drops at its full buffer, after the whole path)."
	echo "  TCP: one connection, 64 KiB writes. The receive path of veth runs on the sender's CPU, in"
	echo "  its context, so the sender's CPU time per datagram is the cost of the whole path."
	echo "- Same allowlist everywhere: default deny; allow N random prefixes (bench/prefixes.h: 3/4"
	echo "  IPv4 /8–/32, 1/4 IPv6 /32–/128, none overlapping the bench ranges) plus the receiver"
	echo "  (198.19.0.0/24, 2001:db8:ff::/48), placed **last** (the worst case of a linear chain)."
	echo "  - **egressctl**: its own cgroup per N, \`attach --max-rules\` sized for N, \`apply -f\`."
	echo "  - **iptables** (nft backend, the Debian default): \`OUTPUT -j EGR\`, chain EGR = the"
	echo "    N·3/4 IPv4 rules \`-d PREFIX -j ACCEPT\`, then \`-j DROP\` (ip6tables: the IPv6 quarter)."
	echo "  - **ipset**: \`hash:net\` sets egr4/egr6, \`OUTPUT -m set --match-set egr4 dst -j ACCEPT\`, DROP."
	echo "  - **nft**: \`table inet\`, sets with \`flags interval; auto-merge\`, output chain policy drop."
	echo "  - Netfilter rules are per network namespace, so each netfilter configuration has its own"
	echo "    sender namespace (same path); the no-filter and egressctl senders share one without rules."
	echo "  - Reference floor: **empty BPF program** (\`bench/floor.bpf.c\` floor_noop, returns 1) and"
	echo "    **one LPM lookup** (floor_lpm1: one \`bpf_map_lookup_elem\` on an LPM trie holding the"
	echo "    same IPv4 prefixes as egressctl at N=$(hum "$NEMAX")), each on its own cgroup."
	echo
	echo "## Targets"
	echo
	echo "| target | measured | result |"
	echo "| --- | --- | --- |"
	echo "| egressctl at $(hum "$NEMAX") keeps ≥ 95% of the no-filter UDP packet rate | $(fmt "cpur:$E" 100 1)% (wall clock: $(num "udpr:$E" 100 1)%) | **$T1** |"
	echo "| BPF run time per packet grows < 2x from N=$(hum "$NMIN") to $(hum "$NEMAX") (live, bpf_stats) | $(num "bst:egr-$NMIN" 1 1) → $(num "bst:$E" 1 1) ns = ${T2_G:-n/a}x | **$T2** |"
	echo "| (same, bpf_prog_test_run_opts IPv4 / IPv6, one flow; informational) | ${TR_G:-n/a}x / ${TR6_G:-n/a}x | |"
	echo "| (same, verdict cache off: every packet judged in full; informational) | ${TRN_G:-n/a}x / ${TRN6_G:-n/a}x | |"
	echo "| (same, live, every datagram to another address: each one judged in full; informational) | $(num "bstm:egr-$NMIN" 1 1) → $(num "bstm:$E" 1 1) ns = ${BM_G:-n/a}x | |"
	echo "| (rate at $(hum "$NEMAX"), every datagram to another address, of no filter on that flow; informational) | $(fmt "mdcpur:$E" 100 1)% | |"
	echo "| egressctl beats every netfilter configuration at N ≥ 1k (rate, update, bulk load) | see table below | **$T3** |"
	echo "| one live edit at $(hum "$NEMAX"): kernel operation < 50 µs median (add / remove) | $(num "ke:$E/add" 1 1) / $(num "ke:$E/remove" 1 1) µs | **$T4K** |"
	echo "| one live edit at $(hum "$NEMAX"): whole \`egressctl allow\` < 20 ms median | $(num "ce:$E/add" 1 2) ms | **$T4C** |"
	echo "| \`egressctl apply -f\` of $(hum "$NEMAX") rules < 3 s (replacing $(hum "$NEMAX") / onto empty) | $(num "bulk:egr-replace-$NEMAX" 1 2) / $(num "bulk:$E" 1 2) s | **$T5T** |"
	echo "| old policy enforced until the new one is complete (probe traffic during that apply) | ${AT_SEQ:-n/a} | **$T5A** |"
	echo
	echo "### egressctl against netfilter, same N (ratios > 1 favour egressctl)"
	echo
	echo "| N | vs | packet rate egressctl/other (wall clock) | | update time other/egressctl (add / remove) | | bulk load time other/egressctl | |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for l in "${T3_LINES[@]}"; do echo "$l"; done
	echo
	echo "## Per-packet cost"
	echo
	echo "![per-packet cost]($REL/$(basename "$PLOT1"))"
	echo
	echo "![filter cost over no filter]($REL/$(basename "$PLOT3"))"
	echo
	echo "(The iptables chain is left out of the second plot: from 1k rules on it is off the scale.)"
	echo
	echo "### UDP, 64-byte datagrams"
	echo
	echo "The machine is shared (other jobs ran during the measurement: the senders had a CPU"
	echo "$(num "busy:all" 100 0)% of their wall time, median). The wall-clock rate therefore"
	echo "understates what the path can do; the **CPU-time rate** (datagrams per second of the"
	echo "sender's CPU time, which includes the veth receive path run in its context) is what a"
	echo "quiet machine would show as its wall-clock rate, and is what the targets use."
	echo
	echo "| configuration | N | packets per CPU-second | of no filter | CPU ns/packet | ns over no filter | wall-clock packets/s | of no filter | received |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for c in "${CONFIGS[@]}"; do
		echo "| $(fam "$c") | $(hum "$(cfg_n "$c")") | $(fmt "cpu:$c" 1e-3 0)k | $(fmt "cpur:$c" 100 1)% | $(fmt "cpuns:$c" 1 0) | $(fmt "cpuo:$c" 1 0) | $(fmt "udp:$c" 1e-3 0)k | $(num "udpr:$c" 100 1)% | $(num "rcvd:$c" 100 1)% |"
	done
	echo
	echo "\"received\": datagrams the receiver's UDP layer took in (delivered or dropped at its full"
	echo "buffer) over datagrams sent, median over rounds."
	echo
	if [ ${#MD_CONFIGS[@]} -gt 0 ]; then
		echo "### UDP, every datagram to another address (64 destinations, one unconnected socket)"
		echo
		echo "The flow above is one connected socket: egressctl judges its first datagram and then"
		echo "reuses that verdict from the socket's cache until the policy changes. Here \`blast -d 64\`"
		echo "sends each datagram of a batch to the next of 198.19.0.1–64 (all local to the receiver),"
		echo "so the cache misses every time and every datagram is judged in full (parse, trie walk,"
		echo "rule scan, the generation check); unconnected sends also cost the path more (a route lookup"
		echo "per datagram), so the ratios are to no filter on this same flow. Same rounds, interleaved."
		echo
		echo "| configuration | N | packets per CPU-second | of no filter | CPU ns/packet | ns over no filter | egressctl/this | received |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
		for c in "${MD_CONFIGS[@]}"; do
			echo "| $(fam "$c") | $(hum "$(cfg_n "$c")") | $(fmt "mdcpu:$c" 1e-3 0)k | $(fmt "mdcpur:$c" 100 1)% | $(fmt "mdcpuns:$c" 1 0) | $(fmt "mdcpuo:$c" 1 0) | $(has "mdcpuvs:$c" && echo "$(fmt "mdcpuvs:$c" 1 2)x" || echo) | $(num "mdrcvd:$c" 100 1)% |"
		done
		echo
	fi
	if [ -f "$R/tcp.csv" ]; then
		echo "### TCP throughput (one connection)"
		echo
		echo "| configuration | N | Gbit per CPU-second (sender + receiver) | of no filter | wall-clock Gbit/s | of no filter |"
		echo "| --- | --- | --- | --- | --- | --- |"
		for c in "${CONFIGS[@]}"; do
			echo "| $(fam "$c") | $(hum "$(cfg_n "$c")") | $(fmt "tcpc:$c" 1 2) | $(fmt "tcpcr:$c" 100 1)% | $(fmt "tcp:$c" 1 2) | $(num "tcpr:$c" 100 1)% |"
		done
		echo
		echo "With 64 KiB writes the stack sends large segments (GSO), so a filter runs once per ~64 KiB:"
		echo "only a filter whose per-packet cost reaches microseconds shows up here. The CPU-time figure"
		echo "divides the bytes by the CPU time of both ends (the receiver copies the data and processes"
		echo "the ACKs' return path in its context); the wall-clock one swings with the shared machine's load."
		echo
	fi
	if [ -f "$R/bpfstats.csv" ]; then
		echo "### BPF run time per packet, live traffic (kernel.bpf_stats_enabled: run_time_ns / run_cnt)"
		echo
		echo "![BPF ns per packet]($REL/$(basename "$PLOT2"))"
		echo
		bst_table bst
		echo
		echo "These include the cost of the accounting itself (two clock reads per run), which the"
		echo "packet-rate runs above do not pay (statistics were off for them). One connected socket:"
		echo "after its first datagram, egressctl answers from the socket's verdict cache."
		echo
		if [ -f "$R/bpfstats_md.csv" ]; then
			echo "Every datagram to another address (\`blast -d 64\`: no verdict-cache hits, each datagram"
			echo "judged in full):"
			echo
			bst_table bstm
			echo
		fi
	fi
	if [ -f "$R/prog_ns.csv" ]; then
		echo "### bpf_prog_test_run_opts, ns per packet (bench/prog_ns.c)"
		echo
		echo "The real program and maps, policies loaded through \`kpolicy_apply()\`; all instances loaded"
		echo "at once and measured interleaved. Kernel-measured duration per run; repeat $(awk '/prog/ { for (i = 1; i <= NF; i++) if ($i == "prog") print $(i + 3) }' "$R/env.txt")"
		echo "for the same-flow packets. \"ports\": each prefix has \`tcp:443\` and \`udp:53\` rules instead of"
		echo "one any-protocol rule. $(grep -o 'verified_insns [0-9]*' "$R/prog_ns.info" | head -1 | sed 's/verified_insns/Verifier instruction count:/')."
		echo
		echo "| packet | ports | $(for n in $NS; do printf 'N=%s | ' "$(hum "$n")"; done)$(hum "$NEMAX")/$(hum "$NMIN") |"
		echo "| --- | --- |$(for n in $NS; do printf ' --- |'; done) --- |"
		for pk in v4_hit v6_hit v4_miss v4_walk v4_hit_nc v6_hit_nc v4_miss_nc v4_walk_nc v4_hit1 v4_rand1; do
			for pt in 0 1; do
				has "tr:$NMIN/$pt/$pk" || continue
				printf '| %s | %s |' "$pk" "$([ $pt = 1 ] && echo yes || echo no)"
				for n in $NS; do printf ' %s |' "$(fmt "tr:$n/$pt/$pk" 1 0)"; done
				awk -v a="$(medv "tr:$NMIN/$pt/$pk")" -v b="$(medv "tr:$NEMAX/$pt/$pk")" 'BEGIN { printf " %.2fx |\n", b / a }'
			done
		done
		echo
		echo "v4_hit/v6_hit: 198.19.0.1 / 2001:db8:ff::1, first rule matches; v4_miss: no prefix, the"
		echo "default decides; v4_walk: the /24's port rules do not match, one more lookup. A test run"
		echo "repeats one packet on one socket, so egressctl judges the first and answers the others"
		echo "from that socket's verdict cache; the \`_nc\` rows are the same packets on instances"
		echo "loaded with the cache off (every run judged in full: parse, trie walk, rule scan). v4_hit1:"
		echo "v4_hit with repeat=1: a new socket per run, so its first packet (cache miss, and the"
		echo "socket's cache entry created) and the per-run timer overhead; v4_rand1: 512 different"
		echo "destinations inside random policy prefixes, repeat=1 each — every run walks another path"
		echo "of the trie, so it shows the cost when the trie is not in cache."
		echo
		grep '^# n ' "$R/prog_ns.info" | sed 's/^# /- /'
		echo
	fi
	echo "## Update latency: one rule added / removed while N rules are in force"
	echo
	if [ -f "$R/edit_kernel.csv" ]; then
		echo "### egressctl kernel operation (bench/kops.c: \`kpolicy_add\`/\`kpolicy_remove\`, in-process, µs)"
		echo
		echo "| N | add | remove | the single trie update that publishes an edit |"
		echo "| --- | --- | --- | --- |"
		for n in $NS; do
			echo "| $(hum "$n") | $(fmt "ke:egr-$n/add" 1 1) | $(fmt "ke:egr-$n/remove" 1 1) | $(fmt "ke:egr-$n/trie_update" 1 2) |"
		done
		echo
	fi
	if [ -f "$R/edit_cmd.csv" ]; then
		echo "### Whole commands (hyperfine -N, ms; add then remove of 198.19.7.0/24)"
		echo
		echo "| N | egressctl allow / remove | iptables -A / -D | ipset add / del | nft add / delete element |"
		echo "| --- | --- | --- | --- | --- |"
		for n in $(printf '%s\n' $NS $IPT_NS | sort -nu); do
			printf '| %s |' "$(hum "$n")"
			for x in egr ipt ips nft; do printf ' %s / %s |' "$(fmt "ce:$x-$n/add" 1 2)" "$(fmt "ce:$x-$n/remove" 1 2)"; done
			echo
		done
		echo
		echo "Samples per cell: see \`$REL/edit_cmd.csv\` (slow edits — nft at N ≥ 100k, iptables -D at"
		echo "1M — are timed fewer times to keep the run bounded)."
		echo
	fi
	if [ -f "$R/bulk.csv" ]; then
		echo "## Bulk load: time to put N rules in force (s)"
		echo
		echo "Wall clock, median (min–max); below each, the command's CPU time (user + system, the"
		echo "kernel work of its syscalls included; waits such as RCU grace periods are not CPU time)."
		echo
		echo "| N | egressctl apply -f (onto empty) | egressctl apply -f (replacing N) | iptables-restore (v4+v6) | ipset restore | nft -f |"
		echo "| --- | --- | --- | --- | --- | --- |"
		for n in $(printf '%s\n' $NS $IPT_NS | sort -nu); do
			echo "| $(hum "$n") | $(fmt "bulk:egr-$n" 1 3) | $(fmt "bulk:egr-replace-$n" 1 3) | $(fmt "bulk:ipt-$n" 1 3) | $(fmt "bulk:ips-$n" 1 3) | $(fmt "bulk:nft-$n" 1 3) |"
			echo "| CPU | $(num "bulkc:egr-$n" 1 3) | $(num "bulkc:egr-replace-$n" 1 3) | $(num "bulkc:ipt-$n" 1 3) | $(num "bulkc:ips-$n" 1 3) | $(num "bulkc:nft-$n" 1 3) |"
		done
		echo
	fi
	if [ -f "$R/apply_phases.txt" ]; then
		echo "### Where \`egressctl apply\` spends its time at N=$(hum "$NEMAX") (bench/kops.c phases, replacing N)"
		echo
		awk '
			/_ns / { v[$1] = $2 / 1e9 } { raw[$1] = $2 }
			END {
				printf "| phase | as today (s) | done differently (s) | how |\n| --- | --- | --- | --- |\n"
				printf "| parse the YAML file (in pieces, one per CPU) | %.3f | %.3f | for comparison: libyaml alone reading its %d events on one CPU, what one parse thread cannot go below |\n", v["parse_ns"], v["yaml_events_ns"], raw["yaml_events"]
				printf "| compile (compile_policy) | %.3f | | |\n", v["compile_ns"]
				printf "| read the live policy to keep rule ids | %.3f | %.3f | batch lookups (trie and rule array), no hit counters |\n", v["read_live_ns"], v["read_batch_ns"]
				printf "| fill the new tries (IPv4 %d + IPv6 %d entries) | %.3f | %.3f | v4 and v6 filled by two threads at once |\n", raw["prefixes_v4"], raw["prefixes_v6"], v["fill_batch_v4_ns"] + v["fill_batch_v6_ns"], v["fill_parallel_ns"]
				printf "| (trie fill IPv4 with one bpf_map_update_elem per entry instead of batched) | %.3f | | |\n", v["fill_single_v4_ns"]
				printf "| one update of the outer map-in-map array (kernel waits for running programs); apply does 6 | %.4f | | |\n", v["outer_update_ns"]
				printf "| **kpolicy_apply in total** (compile + read + ids + fill + flip) | %.3f | | |\n", v["kpolicy_apply_ns"]
				printf "| **parse + kpolicy_apply** | %.3f | | |\n", v["parse_ns"] + v["kpolicy_apply_ns"]
			}' "$R/apply_phases.txt"
		echo
	fi
	if [ -f "$R/perf.csv" ]; then
		echo "## Where the sender's CPU goes (perf, UDP flood, samples of the sender process)"
		echo
		echo "Share of the sender's samples (its softirq work included) in the filtering code of each"
		echo "configuration, and the top symbols of that code. Filtering code: BPF programs and the"
		echo "helpers and map code they call, the cgroup-BPF hook, nf_tables/ipset/iptables evaluation."
		echo "(Every configuration, the unfiltered one included, also shows up to ~1% in BPF tracing"
		echo "trampolines or hash maps (\`__bpf_prog_enter_recur\`, \`htab_map_hash\`) of something outside"
		echo "this benchmark on the shared machine; not counted.) Top 40 symbols per configuration."
		echo
		echo "| configuration | filtering share | top filtering symbols (% of samples) |"
		echo "| --- | --- | --- |"
		awk -F, 'NR > 1 {
			c = $1; p = $2 + 0; s = $3
			if (!(c in seen)) { seen[c] = 1; o[++n] = c }
			if (s ~ /bpf_prog_|trie_|lpm|bpf_loop|bpf_skb_load|skb_copy_bits|cgroup_bpf|bpf_map|nft_|nf_tables|ipt_do_table|ip_set|hash_net|bpf_sk_|sk_storage|bpf_ktime|array_map|percpu_array|pipapo|rbtree/ &&
			    s !~ /^__bpf_prog_(enter|exit)/) {
				tot[c] += p
				if (cnt[c]++ < 5) top[c] = top[c] (top[c] ? ", " : "") s " " p
			}
		}
		END { for (i = 1; i <= n; i++) printf "| %s | %.1f%% | %s |\n", o[i], tot[o[i]], top[o[i]] }' "$R/perf.csv"
		echo
	fi
	if [ -f "$R/startup.csv" ]; then
		echo "## Process start of the command-line tools (hyperfine -N, ms)"
		echo
		echo "| command | ms |"
		echo "| --- | --- |"
		for k in "egressctl --version" "startup_all" "startup_core" "ipset --version" "iptables --version" "nft --version"; do
			kk=${k// /_}
			has "st:$kk" || continue
			case $k in
			startup_all) d="empty program linked with all of egressctl's libraries, shared, libcurl and libmicrohttpd included" ;;
			startup_core) d="empty program with libbpf, libelf, zlib, libyaml, jansson only, shared (no libcurl, libmicrohttpd)" ;;
			*) d="\`$k\`" ;;
			esac
			echo "| $d | $(fmt "st:$kk" 1 2) |"
		done
		echo
	fi
	echo "## Attach: time from \`egressctl attach\` to enforcement"
	echo
	if [ -f "$R/attach.csv" ]; then
		echo "A sender thread in the cgroup sends every ~20 µs to an address the (default deny) policy"
		echo "does not allow; enforcement = its first refused send, from the start of the command."
		echo
		echo "| --max-rules | whole command (ms) | enforcement from command start (ms) |"
		echo "| --- | --- | --- |"
		for cap in 16384 1048576; do
			has "att:$cap/cmd" || continue
			echo "| $cap | $(fmt "att:$cap/cmd" 1 1) | $(fmt "att:$cap/enf" 1 1) |"
		done
		echo
	fi
	echo "## Memory per rule"
	echo
	if [ -f "$R/setup.csv" ]; then
		echo "Kernel memory charged to the loader's memory cgroup (BPF maps, nf_tables objects and ipset"
		echo "hashes are allocated with memcg accounting), over N. egressctl also allocates fixed-size"
		echo "arrays sized by --max-rules (listed)."
		echo
		echo "| configuration | N | kernel memory | bytes per rule | load time at setup (ms) |"
		echo "| --- | --- | --- | --- | --- |"
		awk -F, 'NR > 1 {
			f = $1; sub(/-.*/, "", f)
			name = f == "egr" ? "egressctl (--max-rules " $5 ")" : f == "ipt" ? "iptables chain" : f == "ips" ? "ipset hash:net" : "nft interval set"
			if ($4 < 0) printf "| %s | %s | n/a | n/a | %s |\n", name, $2, $3
			else printf "| %s | %s | %.1f MiB | %.0f | %s |\n", name, $2, $4 / 1048576, $4 / $2, $3 }' "$R/setup.csv"
		echo
	fi
	if [ -f "$R/mem.txt" ]; then
		echo "egressctl's own map accounting (bpf map \`memlock\`, kernel estimate), bytes per rule in force:"
		echo
		echo "| N | --max-rules | all maps | tries only | per rule (all) | per rule (tries) |"
		echo "| --- | --- | --- | --- | --- | --- |"
		awk '$1 == "config" { c = $2 } c ~ /^egr-/ && $1 == "total_bytes" { t[c] = $2 } c ~ /^egr-/ && $1 ~ /^map_trie/ { tr[c] += $2 }
			c ~ /^egr-/ && $1 == "max_rules" { m[c] = $2 } c ~ /^egr-/ && $1 == "rules" { r[c] = $2; o[++n] = c }
			END { for (i = 1; i <= n; i++) { c = o[i]; printf "| %s | %s | %.1f MiB | %.1f MiB | %.0f | %.0f |\n", r[c], m[c], t[c] / 1048576, tr[c] / 1048576, t[c] / r[c], tr[c] / r[c] } }' "$R/mem.txt"
		echo
	fi
	if [ -f "$R/atomic.txt" ]; then
		echo "## Atomicity of apply at N=$(hum "$NEMAX")"
		echo
		echo "A probe in the cgroup sends one datagram to 198.19.0.1 (allowed only by the old policy)"
		echo "and one to 198.19.1.1 (allowed only by the new one) every ~50 µs while \`egressctl apply -f\`"
		echo "replaces a $(hum "$NEMAX")-rule policy with another. States old/new (1 = passed):"
		echo "${AT_SEQ:-n/a}. The switch happened ${AT_FLIP:-?} ms after the command started; the"
		echo "command took ${AT_DUR:-?} ms. A 0/0 state (both refused) or a return to 1/0 would fail."
		echo
	fi
	# The analysis of the committed full run (why targets pass or fail,
	# recommended changes): bench/analysis.md with its @KEY@ figures filled
	# in from this run's data; not for smoke runs.
	if [ "$SMOKE" != 1 ] && [ -f "$(dirname "$0")/analysis.md" ]; then
		analysis_sed >"$R/.analysis.sed"
		sed -f "$R/.analysis.sed" "$(dirname "$0")/analysis.md"
		rm -f "$R/.analysis.sed"
		echo
	fi
} >"$MD"
echo "report: $MD"
