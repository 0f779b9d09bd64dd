# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The plots of bench/report.py, from the .dat files it writes next to the
# data. Set by report.py (gnuplot -e): R, the results directory; NEMAX, the
# largest N as written in the report (1M); BUDGET, the ns per packet over no
# filter that the 95% target leaves.
set terminal pngcairo size 900,560 font "sans,10"
set datafile missing "?"
set logscale xy
set grid
set key top left
set xlabel "prefixes in force (N)"
set format x "10^{%L}"

set output R."/cost_vs_rules.png"
set title "Per-packet cost of the whole path (sender CPU time per 64-byte UDP datagram), median of rounds"
set ylabel "CPU ns per packet"
plot R."/plot_cost.dat" u 1:2 w l lw 2 dt 2 lc rgb "black" t "no filter", \
     "" u 1:3 w lp lw 2 pt 7 lc rgb "#1f77b4" t "egressctl", \
     "" u 1:4 w lp lw 2 pt 5 lc rgb "#d62728" t "iptables linear chain", \
     "" u 1:5 w lp lw 2 pt 9 lc rgb "#2ca02c" t "ipset hash:net", \
     "" u 1:6 w lp lw 2 pt 11 lc rgb "#ff7f0e" t "nft interval set"

set output R."/overhead_vs_rules.png"
unset logscale y
set yrange [0:*]
set format y "%g"
set title "Filter cost per packet: CPU ns over no filter (UDP, 64-byte datagrams), median of rounds"
set ylabel "ns per packet over no filter"
plot R."/plot_over.dat" u 1:2 w lp lw 2 pt 7 lc rgb "#1f77b4" t "egressctl", \
     "" u 1:3 w lp lw 2 pt 9 lc rgb "#2ca02c" t "ipset hash:net", \
     "" u 1:4 w lp lw 2 pt 11 lc rgb "#ff7f0e" t "nft interval set", \
     "" u 1:5 w l lw 1 dt 2 lc rgb "black" t "empty BPF program (the hook's floor)", \
     "" u 1:6 w l lw 1 dt 3 lc rgb "#9467bd" t "one LPM lookup, ".NEMAX." prefixes", \
     BUDGET w l lw 2 lc rgb "#d62728" t "budget of the 95% target"
set logscale y
set yrange [*:*]

set output R."/bpf_ns_vs_rules.png"
set title "egressctl BPF run time per packet against rule count"
set ylabel "ns per packet"
plot R."/plot_bpf.dat" u 1:2 w lp lw 2 pt 7 t "live, one socket (verdict cache; bpf\\_stats)", \
     "" u 1:8 w lp lw 2 pt 7 dt 2 t "live, every datagram to another address (bpf\\_stats)", \
     "" u 1:3 w lp lw 2 pt 5 t "test\\_run IPv4, same flow (cache)", \
     "" u 1:9 w lp lw 2 pt 5 dt 2 t "test\\_run IPv4, cache off", \
     "" u 1:4 w lp lw 2 pt 9 t "test\\_run IPv6, same flow (cache)", \
     "" u 1:10 w lp lw 2 pt 9 dt 2 t "test\\_run IPv6, cache off", \
     "" u 1:6 w lp lw 2 pt 11 t "test\\_run IPv4 with port rules (cache)", \
     "" u 1:5 w lp lw 2 pt 13 t "test\\_run IPv4, 512 random destinations", \
     "" u 1:7 w p ps 2 pt 3 t "one LPM lookup program (bpf\\_stats)"
