#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Turn the raw data of one bench/run.sh run into a report.

bench/report.py RESULTS_DIR OUT_MD

Reads the CSV and text files of RESULTS_DIR, writes OUT_MD from the
template bench/BENCHMARKS.md.in (for a full run with bench/analysis.md
appended), PNG plots next to the data (gnuplot, bench/plots.gp), and prints
the targets with their result. Figures are medians with (min-max) over the
interleaved rounds; "ratio" figures are computed per round (both sides
measured back to back) and then summarized.

Templates: "@KEY@" is replaced by a figure; a line holding only "@KEY@" of
a table's rows becomes those rows. In BENCHMARKS.md.in, "@@ NAME" starts a
section, written only when the section's function below has its data.
Standard library only.
"""

import argparse
import csv
import math
import os
import random
import re
import shutil
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
NETFILTER = re.compile(r"^(ipt|ips|nft)-")


# ---- numbers ------------------------------------------------------------------


def number(s):
    """The number a field stands for: its leading number, else 0 (as awk reads it)."""
    m = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s or "")
    return float(m.group(0)) if m else 0.0


def hum(n):
    """10, 1k, 100k, 1M."""
    n = int(n)
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return "%d" % n


def cfg_n(c):
    return "0" if c in ("none", "noop", "hooks", "hookstor") else c.split("-", 1)[-1]


FAMILIES = (("none", "no filter"), ("noop", "empty BPF program"), ("lpm1-", "one LPM lookup"),
            ("hooks", "empty programs on egressctl's 7 hooks"),
            ("hookstor", "same, connect4 creating the socket storage"),
            ("egr-", "egressctl"), ("ipt-", "iptables chain"), ("ips-", "ipset hash:net"),
            ("nft-", "nft interval set"))


def fam(c):
    for prefix, name in FAMILIES:
        if c == prefix or (prefix.endswith("-") and c.startswith(prefix)):
            return name
    return ""


def lt(a, b):
    return a is not None and b is not None and a < b


def ge(a, b):
    return a is not None and b is not None and a >= b


def pf(ok):
    return "PASS" if ok else "FAIL"


def growth(a, b):
    """b/a as "%.2f", or "" without both."""
    return "%.2f" % (b / a) if a is not None and a > 0 and b is not None else ""


# ---- summaries ----------------------------------------------------------------


class Stats:
    """Summaries of the rounds by "PREFIX:KEY": median, min, max, count."""

    def __init__(self):
        self.sums = {}

    def add(self, prefix, pairs):
        """pairs: (KEY, value) of every round."""
        vals = {}
        for key, v in pairs:
            vals.setdefault(key, []).append(v)
        for key, vs in vals.items():
            vs.sort()
            self.sums[prefix + ":" + key] = (statistics.median(vs), vs[0], vs[-1], len(vs))

    def has(self, key):
        return key in self.sums

    def med(self, key):
        return self.sums[key][0] if key in self.sums else None

    def fmt(self, key, scale=1, dec=1):
        """"median (min–max)", scaled; the median alone for one round."""
        if key not in self.sums:
            return "n/a"
        md, lo, hi, n = self.sums[key]
        f = "%." + str(dec) + "f"
        if n > 1:
            return (f + " (" + f + "–" + f + ")") % (md * scale, lo * scale, hi * scale)
        return f % (md * scale)

    def ci(self, key, scale=1, dec=1, unit=""):
        """"estimate (95% interval lo–hi)" of an entry whose low and high
        are an interval, not the rounds' extremes."""
        if key not in self.sums:
            return "n/a"
        f = "%." + str(dec) + "f"
        md, lo, hi, n = self.sums[key]
        u = unit.replace("%", "%%")
        if n < 3:  # no interval from one or two rounds
            return (f + u) % (md * scale)
        return (f + u + " (95%% interval " + f + "–" + f + u + ")") % (
            md * scale, lo * scale, hi * scale)

    def num(self, key, scale=1, dec=1):
        """The median only, scaled."""
        if key not in self.sums:
            return "n/a"
        return ("%." + str(dec) + "f") % (self.sums[key][0] * scale)


# ---- reading the data ---------------------------------------------------------------


class Run:
    """One run's results directory and its parameters (env.txt)."""

    def __init__(self, results, md):
        self.dir = os.path.abspath(results)
        mddir = os.path.dirname(os.path.abspath(md))
        if self.dir == mddir:
            self.rel = "."
        elif self.dir.startswith(mddir + "/"):
            self.rel = self.dir[len(mddir) + 1:]
        else:
            self.rel = self.dir
        self.env = {}
        for line in self.lines("env.txt") or []:
            f = line.split()
            if f and f[0] not in self.env:
                self.env[f[0]] = " ".join(f[1:])
        self.ns = self.env.get("ns", "").split()
        self.ipt_ns = self.env.get("ipt_ns", "").split()
        self.smoke = self.env.get("smoke") == "1"
        self.nemax = "0"
        for n in self.ns:
            if int(n) > int(self.nemax):
                self.nemax = n
        self.nmin = self.ns[0] if self.ns else ""
        self.all_ns = sorted(set(self.ns + self.ipt_ns), key=int)
        self.e = "egr-" + self.nemax
        self.configs = []
        self.md_configs = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def has(self, name):
        return os.path.isfile(self.path(name))

    def rows(self, name):
        """The data rows of a CSV file as dicts ([] without the file). Commas
        only separate: no quoting, as the files are written."""
        if not self.has(name):
            return []
        with open(self.path(name), newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f, quoting=csv.QUOTE_NONE))

    def lines(self, name):
        """The lines of a text file, None without it."""
        if not self.has(name):
            return None
        with open(self.path(name), encoding="utf-8") as f:
            return f.read().splitlines()


def field(row, col):
    return number(row.get(col))


def config(row):
    return row["config"]


def column(col):
    """A row's value in column col, None where it is empty."""
    return lambda r: field(r, col) if (r.get(col) or "").strip() else None


def pairs(rows, key, value):
    """(key(row), value(row)) of the rows where value() is not None."""
    out = []
    for r in rows:
        x = value(r)
        if x is not None:
            out.append((key(r), x))
    return out


def per_round(rows, value):
    """{(config, round): value(row)} of the rows where value() is not None."""
    p = {}
    for r in rows:
        x = value(r)
        if x is not None:
            p[(r["config"], r["round"])] = x
    return p


def to_none(p, fn, ref="none"):
    """(config, fn(its value, no filter's)) per round where both are > 0;
    ref: another configuration to compare with instead (noop: the floor)."""
    out = []
    for (c, rnd), x in p.items():
        base = p.get((ref, rnd))
        if base is not None and base > 0 and x > 0:
            out.append((c, fn(x, base)))
    return out


def of_none_all(p):
    """Each config's value over no filter's, every config in every round where
    no filter's is > 0 (a config missing in that round counts 0)."""
    configs = {c for c, _ in p}
    out = []
    for rnd in {r for _, r in p}:
        base = p.get(("none", rnd))
        if base is not None and base > 0:
            out.extend((c, p.get((c, rnd), 0.0) / base) for c in configs)
    return out


def vs_egr(p, fn):
    """(netfilter config, fn(egressctl's value, its)) at the same N, per round."""
    out = []
    for (c, rnd), x in p.items():
        if not NETFILTER.match(c):
            continue
        e = p.get(("egr-" + c.split("-", 1)[1], rnd))
        if x > 0 and e is not None and e > 0:
            out.append((c, fn(e, x)))
    return out


def ratio(a, b):
    return lambda r: field(r, a) / field(r, b) if field(r, b) > 0 else None


def cpu_rates(st, rows, p):
    """A UDP CSV's figures from the sender's CPU time (cpu_s) under prefix p:
    received share, packets per CPU-second, its ratio to no filter, CPU ns
    per packet, ns over no filter, and egressctl over each netfilter config."""
    st.add(p + "rcvd", pairs(rows, config, ratio("rcvd", "sent")))
    st.add(p + "cpu", pairs(rows, config, ratio("sent", "cpu_s")))
    rate = per_round(rows, ratio("sent", "cpu_s"))
    st.add(p + "cpur", to_none(rate, lambda x, b: x / b))
    st.add(p + "cpuf", to_none(rate, lambda x, b: x / b, "noop"))  # of the empty program
    st.add(p + "udpf", to_none(per_round(rows, lambda r: field(r, "pps")), lambda x, b: x / b, "noop"))
    st.add(p + "cpuo", to_none(rate, lambda x, b: 1e9 / x - 1e9 / b))
    st.add(p + "cpuns", pairs(rows, config, lambda r: 1e9 * field(r, "cpu_s") / field(r, "sent")
                                 if field(r, "cpu_s") > 0 and field(r, "sent") != 0 else None))
    st.add(p + "cpuvs", vs_egr(rate, lambda e, x: e / x))


def first_seen(rows):
    return list(dict.fromkeys(r["config"] for r in rows))


def load_udp(run, st):
    rows = run.rows("udp.csv")
    run.configs = first_seen(rows)
    st.add("udp", pairs(rows, config, column("pps")))
    pps = per_round(rows, lambda r: field(r, "pps"))
    st.add("udpr", to_none(pps, lambda x, b: x / b))
    st.add("udpns", pairs(rows, config, lambda r: 1e9 / field(r, "pps") if field(r, "pps") != 0 else None))
    st.add("udpo", to_none(pps, lambda x, b: 1e9 / x - 1e9 / b))
    st.add("udpvs", vs_egr(pps, lambda e, x: e / x))
    cpu_rates(st, rows, "")
    # share of the sender's wall time it actually had a CPU
    st.add("busy", pairs(rows, lambda r: "all", ratio("cpu_s", "secs")))
    md = run.rows("udp_md.csv")
    run.md_configs = first_seen(md)
    cpu_rates(st, md, "md")


def load_tcp(run, st):
    rows = run.rows("tcp.csv")
    if not run.configs:
        run.configs = first_seen(rows)
    st.add("tcp", pairs(rows, config, column("gbps")))
    st.add("tcpr", of_none_all(per_round(rows, lambda r: field(r, "gbps"))))
    # bytes per CPU-second of sender + receiver (tcpc: Gbit)
    cpu = lambda r: field(r, "cpu_s") + field(r, "cpu_rx_s")
    gbit = lambda r: field(r, "bytes") * 8 / cpu(r) / 1e9 if cpu(r) > 0 else None
    per_cpu = lambda r: field(r, "bytes") / cpu(r) if cpu(r) > 0 else None
    st.add("tcpc", pairs(rows, config, gbit))
    st.add("tcpcr", of_none_all(per_round(rows, per_cpu)))


def load_other(run, st):
    for name, p in (("bpfstats.csv", "bst"), ("bpfstats_md.csv", "bstm")):
        st.add(p, pairs([r for r in run.rows(name) if field(r, "run_cnt") > 0], config, column("ns_per_run")))
    test_run = lambda r: "%s/%s/%s" % (r["n"], r["ports"], r["packet"])
    st.add("tr", pairs(run.rows("prog_ns.csv"), test_run, column("ns")))
    op = lambda r: r["config"] + "/" + r["op"]
    st.add("ke", pairs(run.rows("edit_kernel.csv"), op, lambda r: field(r, "ns") / 1000))
    st.add("ce", pairs(run.rows("edit_cmd.csv"), op, lambda r: field(r, "seconds") * 1000))
    bulk = run.rows("bulk.csv")
    st.add("bulk", pairs(bulk, config, column("seconds")))
    st.add("bulkc", pairs(bulk, config, column("cpu_seconds")))
    st.add("bulkvs", vs_egr(per_round(bulk, lambda r: field(r, "seconds")), lambda e, x: x / e))
    st.add("st", pairs(run.rows("startup.csv"), lambda r: r["cmd"], lambda r: field(r, "seconds") * 1000))
    att = run.rows("attach.csv")
    st.add("att", pairs(att, lambda r: r["max_rules"] + "/cmd", lambda r: field(r, "cmd_ns") / 1e6) +
           pairs(att, lambda r: r["max_rules"] + "/enf",
                    lambda r: field(r, "enforce_ns") / 1e6 if field(r, "enforce_ns") >= 0 else None))


def load_conn(run, st):
    """connect() rate (crr.csv) and the latency of a denied connect() (connlat.csv)."""
    rows = run.rows("crr.csv")
    st.add("crr", pairs(rows, config, column("cps")))
    st.add("crrr", to_none(per_round(rows, lambda r: field(r, "cps")), lambda x, b: x / b))
    per_cpu = lambda r: field(r, "conns") / field(r, "cpu_s") if field(r, "cpu_s") > 0 else None
    st.add("crrc", pairs(rows, config, per_cpu))
    st.add("crrcr", to_none(per_round(rows, per_cpu), lambda x, b: x / b))
    st.add("crrcf", to_none(per_round(rows, per_cpu), lambda x, b: x / b, "hooks"))  # of the empty hooks
    st.add("crrerr", pairs(rows, config, column("errors")))
    lat = run.rows("connlat.csv")
    st.add("clmed", pairs(lat, config, lambda r: field(r, "median_ns") / 1000))
    st.add("clp99", pairs(lat, config, lambda r: field(r, "p99_ns") / 1000))
    st.add("clmax", pairs(lat, config, lambda r: field(r, "max_ns") / 1000))
    st.add("clref", pairs(lat, config, ratio("refused", "count")))


def load_dns(run, st):
    """Name rules: resolve-then-connect latency (dnslat.csv, per round: the
    median, p99 and max of its names), the ingress program per answer
    (dnsans.csv), the egress program with name rules vs addresses
    (names_ns.csv)."""
    rounds = {}
    for r in run.rows("dnslat.csv"):
        rounds.setdefault((r["config"], r["round"]), []).append(field(r, "us"))
    for q, name in ((0.5, "dlmed"), (0.99, "dlp99"), (1.0, "dlmax")):
        st.add(name, [(c, pct(v, q)) for (c, _), v in rounds.items()])
    st.add("dlslow", [(c, float(sum(1 for x in v if x >= 900000))) for (c, _), v in rounds.items()])
    # name rule and address policy vs no filter, name rule vs the same
    # policy by address: the ratio of the medians of all names, with a 95%
    # bootstrap interval over the rounds (the configurations take turns
    # name by name, so a round's drift is common to all three)
    for c, base in (("dns-names", "dns-none"), ("dns-ip", "dns-none"), ("names-ip", "dns-ip")):
        top = "dns-names" if c == "names-ip" else c
        ids = sorted(r for (k, r) in rounds if k == base and (top, r) in rounds)
        if ids:
            st.sums["dlr:" + c] = pooled_ratio(rounds, top, base, ids) + (len(ids),)
    # BPF time per resolve+connect (dnsbpf.csv), by hook and in all
    tot, hook = {}, {}
    for r in run.rows("dnsbpf.csv"):
        ops = field(r, "ops")
        if not ops:
            continue
        key = (r["config"], r["round"])
        tot[key] = tot.get(key, 0.0) + field(r, "run_time_ns") / ops
        hook.setdefault((r["config"], r["hook"]), []).append(
            (field(r, "run_time_ns") / ops, field(r, "run_cnt") / ops))
    st.add("dbpf", [(c, v) for (c, _), v in tot.items()])
    st.add("dbpfh", [("%s/%s" % k, ns) for k, v in hook.items() for ns, _ in v])
    st.add("dbpfc", [("%s/%s" % k, n) for k, v in hook.items() for _, n in v])
    st.add("dlfail", pairs(run.rows("dnsfail.csv"), config, column("failed")))
    ans = run.rows("dnsans.csv")
    st.add("dans", [("%s/%s" % (r["config"], r["records"]), field(r, "ns_per_run")) for r in ans])
    nn = run.rows("names_ns.csv")
    st.add("nns", [("%s/%s" % (r["config"], r["packet"]), field(r, "ns")) for r in nn])
    per = {}
    for r in nn:
        per.setdefault((r["packet"], r["rep"]), {})[r["config"]] = field(r, "ns")
    st.add("nnsr", [(k, v["names"] / v["addr"]) for (k, _), v in per.items()
                    if v.get("addr") and "names" in v])


def pooled_ratio(rounds, top, base, ids, reps=2000):
    """median(top's values) / median(base's), pooled over the rounds ids of
    rounds[(config, round)], and the 2.5% and 97.5% points of the same
    ratio over rounds drawn with replacement (seeded: the same data gives
    the same report)."""
    def ratio(sel):
        a = [x for r in sel for x in rounds[(top, r)]]
        b = [x for r in sel for x in rounds[(base, r)]]
        return statistics.median(a) / statistics.median(b)
    rng = random.Random(1)
    boot = sorted(ratio([rng.choice(ids) for _ in ids]) for _ in range(reps))
    return ratio(ids), boot[int(0.025 * reps)], boot[int(0.975 * reps) - 1]


def pct(v, q):
    """The q-quantile of v (nearest rank)."""
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(q * len(v) + 0.5)) - 1))] if v else 0.0


def load(run):
    st = Stats()
    load_udp(run, st)
    load_tcp(run, st)
    load_conn(run, st)
    load_dns(run, st)
    load_other(run, st)
    return st


def atomic(run):
    """The probe's states during the apply: {ok, seq, flip, dur}. The states
    must go 1/0 -> (1/1) -> 0/1, never 0/0."""
    lines = run.lines("atomic.txt")
    if lines is None:
        return {"ok": False, "seq": "", "flip": "", "dur": ""}
    s = e = oth = 0.0
    states, seq = [], []
    for f in (line.split() for line in lines):
        f += [""] * (6 - len(f))
        if f[0] == "apply_start_ns":
            s = number(f[1])
        elif f[0] == "apply_end_ns":
            e = number(f[1])
        elif f[0] == "state":
            seq.append("%s (%s samples)" % (f[1], f[3]))
            states.append((f[1], number(f[5])))
        elif f[0] == "changes":
            oth = number(f[3])
    n = len(states)
    ok = n >= 2 and states[0][0] == "1/0" and states[-1][0] == "0/1" and oth == 0
    for i, (state, _) in enumerate(states):
        if state == "0/0" or (0 < i < n - 1 and state != "1/1"):
            ok = False
    flip = next((t for state, t in states[1:] if state == "0/1"), 0.0)
    return {"ok": ok, "seq": " → ".join(seq), "flip": "%.0f" % ((flip - s) / 1e6),
            "dur": "%.0f" % ((e - s) / 1e6)}


# ---- targets ----------------------------------------------------------------------


def versus(run, st):
    """egressctl against each netfilter config at N >= 1k (every N in a smoke
    run): table rows and the result of all of them."""
    out, result = [], "PASS"
    for n in run.ns:
        if int(n) < 1000 and not run.smoke:
            continue
        for x in ("ipt", "ips", "nft"):
            c = x + "-" + n
            if not st.has("udp:" + c):
                continue
            ok_p = pf(ge(st.med("cpuvs:" + c), 1))  # packet rate, per-round ratios
            ea, er = st.med("ce:egr-%s/add" % n), st.med("ce:egr-%s/remove" % n)
            xa, xr = st.med("ce:%s/add" % c), st.med("ce:%s/remove" % c)
            ok_u = "n/a" if xa is None else pf(lt(ea, xa) and lt(er, xr))
            ok_b = "n/a"
            if st.has("bulk:" + c):
                ok_b = pf(lt(st.med("bulk:egr-" + n), st.med("bulk:" + c)))
            if "FAIL" in (ok_p, ok_u, ok_b):
                result = "FAIL"
            upd = "n/a"
            if (ea or 0) > 0 and (er or 0) > 0:
                upd = "%.2fx / %.2fx" % ((xa or 0) / ea, (xr or 0) / er)
            out.append("| %s | %s | %sx (%sx) | %s | %s | %s | %sx | %s |" % (
                hum(n), fam(c), st.fmt("cpuvs:" + c, 1, 2), st.num("udpvs:" + c, 1, 2), ok_p,
                upd, ok_u, st.fmt("bulkvs:" + c, 1, 2), ok_b))
    return out, result


def growths(run, st):
    """Growth of per-packet figures from the smallest to the largest N."""
    lo, hi = run.nmin, run.nemax
    g = {}
    for name, p, a, b in (("bst", "bst", "egr-" + lo, run.e), ("bstm", "bstm", "egr-" + lo, run.e),
                          ("tr", "tr", lo + "/0/v4_hit", hi + "/0/v4_hit"),
                          ("tr6", "tr", lo + "/0/v6_hit", hi + "/0/v6_hit"),
                          ("trn", "tr", lo + "/0/v4_hit_nc", hi + "/0/v4_hit_nc"),
                          ("trn6", "tr", lo + "/0/v6_hit_nc", hi + "/0/v6_hit_nc"),
                          ("trr", "tr", lo + "/0/v4_rand1", hi + "/0/v4_rand1")):
        g[name] = growth(st.med(p + ":" + a), st.med(p + ":" + b))
    return g


def targets(run, st, g, at, t3):
    """(target, measured, result) rows; result "" = informational."""
    E, N0, H, L = run.e, "egr-" + run.nmin, hum(run.nemax), hum(run.nmin)
    ke_add, ke_rem = st.med("ke:%s/add" % E), st.med("ke:%s/remove" % E)
    a_rep, a_new = st.med("bulk:egr-replace-" + run.nemax), st.med("bulk:" + E)
    na = lambda s: s or "n/a"
    return [
        ("egressctl at %s keeps ≥ 95%% of the no-filter UDP packet rate" % H,
         "%s%% (wall clock: %s%%)" % (st.fmt("cpur:" + E, 100, 1), st.num("udpr:" + E, 100, 1)),
         pf(ge(st.med("cpur:" + E), 0.95))),
        ("BPF run time per packet grows < 2x from N=%s to %s (live, bpf_stats)" % (L, H),
         "%s → %s ns = %sx" % (st.num("bst:" + N0, 1, 1), st.num("bst:" + E, 1, 1), na(g["bst"])),
         pf(lt(float(g["bst"]) if g["bst"] else None, 2))),
        ("(same, bpf_prog_test_run_opts IPv4 / IPv6, one flow; informational)",
         "%sx / %sx" % (na(g["tr"]), na(g["tr6"])), ""),
        ("(same, verdict cache off: every packet judged in full; informational)",
         "%sx / %sx" % (na(g["trn"]), na(g["trn6"])), ""),
        ("(same, live, every datagram to another address: each one judged in full; informational)",
         "%s → %s ns = %sx" % (st.num("bstm:" + N0, 1, 1), st.num("bstm:" + E, 1, 1), na(g["bstm"])), ""),
        ("(rate at %s, every datagram to another address, of no filter on that flow; informational)" % H,
         "%s%%" % st.fmt("mdcpur:" + E, 100, 1), ""),
        ("cached-verdict packet path at %s within 1.5%% of the empty cgroup_skb program "
         "(its UDP rate ≥ 98.5%% of the floor's, same run)" % H,
         "%s%% (wall clock: %s%%)" % (st.fmt("cpuf:" + E, 100, 1), st.num("udpf:" + E, 100, 1)),
         pf(ge(st.med("cpuf:" + E), 0.985))),
        ("a denied TCP connect() fails in < 1 ms (refused at the socket, at %s)" % H,
         "median %s µs, p99 %s µs, max %s µs; refused %s%%" % (
             st.num("clmed:" + E, 1, 1), st.num("clp99:" + E, 1, 1), st.num("clmax:" + E, 1, 0),
             st.num("clref:" + E, 100, 1)),
         pf(lt(st.med("clp99:" + E), 1000) and ge(st.med("clref:" + E), 1))),
        ("connect() rate (connect, one byte, close) at %s ≥ 97%% of no filter" % H,
         "%s%% (wall clock: %s%%)%s" % (
             st.fmt("crrcr:" + E, 100, 1), st.num("crrr:" + E, 100, 1),
             "; empty programs on its hooks: %s%%" % st.num("crrcr:hooks", 100, 1)
             if st.has("crrcr:hooks") else ""),
         pf(ge(st.med("crrcr:" + E), 0.97))),
        ("resolve a fresh name, then connect: name rule vs no filter, median (issue 15: no measurable "
         "difference), and no connection near 1 s (a dropped SYN)",
         "%s of no filter; ≥ 0.9 s: %s, failed: %s" % (
             st.ci("dlr:dns-names", 100, 1, "%"), st.num("dlslow:dns-names", 1, 0),
             st.num("dlfail:dns-names", 1, 0)),
         pf(lt(st.med("dlr:dns-names"), 1.05) and st.med("dlslow:dns-names") == 0 and
            st.med("dlfail:dns-names") == 0) if st.has("dlr:dns-names") else ""),
        ("(same, the same policy by address: no name rule; informational)",
         "%s of no filter" % st.ci("dlr:dns-ip", 100, 1, "%"), "") if st.has("dlr:dns-ip") else None,
        ("(same, name rule vs the same policy by address; informational)",
         st.ci("dlr:names-ip", 100, 1, "%"), "") if st.has("dlr:names-ip") else None,
        ("(BPF time per resolve + connect, all hooks, bpf_stats; informational)",
         "by address %s ns, name rule %s ns" % (st.num("dbpf:dns-ip", 1, 0), st.num("dbpf:dns-names", 1, 0)),
         "") if st.has("dbpf:dns-names") else None,
        ("judging a DNS answer in the kernel (ingress program, per answer; informational)",
         "; ".join("%s records: %s ns" % (k.split("/")[1], st.num("dans:" + k, 1, 0))
                   for k in sorted((x[5:] for x in st.sums if x.startswith("dans:dns-names/")),
                                   key=lambda x: int(x.split("/")[1]))) or "n/a", ""),
        ("egress with name rules and learned addresses vs an address-only policy of the same size "
         "(bpf_prog_test_run, every packet judged: within noise)",
         "%s%% (one flow), %s%% (spread)" % (st.fmt("nnsr:one", 100, 1), st.fmt("nnsr:rand1", 100, 1)),
         pf(lt(st.med("nnsr:one"), 1.10) and lt(st.med("nnsr:rand1"), 1.05)) if st.has("nnsr:one") else ""),
        ("egressctl beats every netfilter configuration at N ≥ 1k (rate, update, bulk load)",
         "see table below", t3),
        ("one live edit at %s: kernel operation < 50 µs median (add / remove)" % H,
         "%s / %s µs" % (st.num("ke:%s/add" % E, 1, 1), st.num("ke:%s/remove" % E, 1, 1)),
         pf(lt(ke_add, 50) and lt(ke_rem, 50))),
        ("one live edit at %s: whole `egressctl allow` < 20 ms median" % H,
         "%s ms" % st.num("ce:%s/add" % E, 1, 2), pf(lt(st.med("ce:%s/add" % E), 20))),
        ("`egressctl apply -f` of %s rules < 3 s (replacing %s / onto empty)" % (H, H),
         "%s / %s s" % (st.num("bulk:egr-replace-" + run.nemax, 1, 2), st.num("bulk:" + E, 1, 2)),
         pf(lt(a_rep, 3) and lt(a_new, 3))),
        ("old policy enforced until the new one is complete (probe traffic during that apply)",
         na(at["seq"]), pf(at["ok"])),
    ]


def target_rows(rows):
    return ["| %s | %s | %s|" % (t, m, "**%s** " % r if r else "") for t, m, r in rows]


# ---- sections of BENCHMARKS.md.in -------------------------------------------------------
# Each takes (run, st, ctx) and returns the section's values, or None to
# leave it out; ctx holds what several sections share. A section without a
# function (None in SECTIONS) is always written and has no values.


def sec_smoke(run, st, ctx):
    return {} if run.smoke else None


def sec_head(run, st, ctx):
    env = run.env
    return {"DATE": env.get("date", ""), "REL": run.rel, "CPU": env.get("cpu", ""),
            "MEM_GIB": env.get("mem_gib", ""), "KERNEL": env.get("kernel", ""),
            "IPTABLES": env.get("iptables", ""), "IPSET": env.get("ipset", ""), "NFT": env.get("nft", ""),
            "WALL_S": env.get("wall_s", ""), "ROUNDS": env.get("rounds", ""), "NEMAX_H": hum(run.nemax)}


def sec_targets(run, st, ctx):
    return {"TARGET_ROWS": target_rows(ctx["targets"]), "VERSUS_ROWS": ctx["versus"]}


def sec_udp(run, st, ctx):
    rows = ["| %s | %s | %sk | %s%% | %s | %s | %sk | %s%% | %s%% |" % (
        fam(c), hum(cfg_n(c)), st.fmt("cpu:" + c, 1e-3, 0), st.fmt("cpur:" + c, 100, 1),
        st.fmt("cpuns:" + c, 1, 0), st.fmt("cpuo:" + c, 1, 0), st.fmt("udp:" + c, 1e-3, 0),
        st.num("udpr:" + c, 100, 1), st.num("rcvd:" + c, 100, 1)) for c in run.configs]
    return {"REL": run.rel, "BUSY": st.num("busy:all", 100, 0), "UDP_ROWS": rows}


def sec_udp_md(run, st, ctx):
    if not run.md_configs:
        return None
    rows = ["| %s | %s | %sk | %s%% | %s | %s | %s | %s%% |" % (
        fam(c), hum(cfg_n(c)), st.fmt("mdcpu:" + c, 1e-3, 0), st.fmt("mdcpur:" + c, 100, 1),
        st.fmt("mdcpuns:" + c, 1, 0), st.fmt("mdcpuo:" + c, 1, 0),
        st.fmt("mdcpuvs:" + c, 1, 2) + "x" if st.has("mdcpuvs:" + c) else "",
        st.num("mdrcvd:" + c, 100, 1)) for c in run.md_configs]
    return {"UDP_MD_ROWS": rows}


def sec_tcp(run, st, ctx):
    if not run.has("tcp.csv"):
        return None
    rows = ["| %s | %s | %s | %s%% | %s | %s%% |" % (
        fam(c), hum(cfg_n(c)), st.fmt("tcpc:" + c, 1, 2), st.fmt("tcpcr:" + c, 100, 1),
        st.fmt("tcp:" + c, 1, 2), st.num("tcpr:" + c, 100, 1)) for c in run.configs]
    return {"TCP_ROWS": rows}


def sec_conn(run, st, ctx):
    if not run.has("crr.csv"):
        return None
    cfgs = first_seen(run.rows("crr.csv"))
    # the floors (hooks, hookstor) and the column against the empty hooks
    # only in a run that has them (results from before them have not)
    floors = "hooks" in cfgs
    rows = ["| %s | %s | %s | %s%% | %s%s | %s%% | %s |" % (
        fam(c), hum(cfg_n(c)), st.fmt("crrc:" + c, 1e-3, 1), st.fmt("crrcr:" + c, 100, 1),
        (st.fmt("crrcf:" + c, 100, 1) + "%" if st.has("crrcf:" + c) else "") + " | " if floors else "",
        st.fmt("crr:" + c, 1e-3, 1), st.num("crrr:" + c, 100, 1), st.num("crrerr:" + c, 1, 0))
        for c in cfgs if st.has("crr:" + c)]
    rows = ["| configuration | N | connections per CPU-second | of no filter | %swall-clock "
            "connections/s | of no filter | errors |" % ("of the empty hooks | " if floors else ""),
            "| --- | --- | --- | --- | --- | --- | ---%s |" % (" | ---" if floors else "")] + rows
    text = ["Two floors, in their own cgroups of the same sender: an empty program (it allows) on each",
            "of the seven hooks egressctl attaches (egress, ingress, sockops, connect4/6, sendmsg4/6;",
            "`bench/floor.bpf.c`), which is what the kernel costs before any program does anything; and",
            "the same with a connect4 that only creates the socket's storage and writes the caller into",
            "it, as egressctl's socket hooks do before they judge."] if floors else []
    # one run per configuration with bpf_stats on (crrstats.csv)
    prog = ["| %s | %s | %s | %s | %.2f | %s | %s |" % (
        fam(r["config"]), hum(r["n"]), r["prog"], r["run_cnt"],
        field(r, "run_cnt") / field(r, "conns") if field(r, "conns") > 0 else 0,
        r["ns_per_run"], r["ns_per_conn"]) for r in run.rows("crrstats.csv")]
    if prog:
        prog = ["", "Where a connection's time goes in the programs: one more `CONN_SECS` run of the "
                "floors and",
                "of egressctl at the smallest and largest N with `kernel.bpf_stats_enabled` (the "
                "programs'",
                "own run time, without the kernel's cost of calling them; the stats add two clock "
                "reads per",
                "call, so these runs are not in the rates above):", "",
                "| configuration | N | program | calls | calls per connection | ns per call | ns per "
                "connection |", "| --- | --- | --- | --- | --- | --- | --- |"] + prog
    lat = ["| %s | %s | %s | %s | %s | %s%% |" % (
        fam(c), hum(cfg_n(c)), st.fmt("clmed:" + c, 1, 1), st.fmt("clp99:" + c, 1, 1),
        st.fmt("clmax:" + c, 1, 0), st.num("clref:" + c, 100, 1))
        for c in first_seen(run.rows("connlat.csv"))]
    return {"CRR_FLOORS": text, "CRR_ROWS": rows, "CONNLAT_ROWS": lat, "CRRSTATS_ROWS": prog}


def sec_dns(run, st, ctx):
    if not run.has("dnslat.csv"):
        return None
    lat = ["| %s | %s | %s | %s | %s | %s |" % (
        {"dns-none": "no filter", "dns-names": "name rule",
         "dns-ip": "the same policy by address"}.get(c, c), st.fmt("dlmed:" + c, 1e-3, 2),
        st.fmt("dlp99:" + c, 1e-3, 2), st.fmt("dlmax:" + c, 1e-3, 1), st.num("dlslow:" + c, 1, 0),
        st.num("dlfail:" + c, 1, 0)) for c in ("dns-none", "dns-ip", "dns-names") if st.has("dlmed:" + c)]
    recs = list(dict.fromkeys(r["records"] for r in run.rows("dnsans.csv")))
    ans = ["| %s | %s | %s |" % (k, st.fmt("dans:dns-addr/" + k, 1, 0), st.fmt("dans:dns-names/" + k, 1, 0))
           for k in recs]
    info = run.lines("names_ns.info") or []
    nn = ["| %s | %s | %s | %s |" % (pk, st.fmt("nns:addr/" + pk, 1, 1), st.fmt("nns:names/" + pk, 1, 1),
                                     st.fmt("nnsr:" + pk, 100, 1))
          for pk in ("one", "rand1") if st.has("nns:addr/" + pk)]
    third = ["A third cgroup has the same policy by address (the resolver, and the names'",
             "198.19.64.0/18 on the port); the three are compared name by name: one process moves",
             "itself into the next cgroup before each name (`dnsq race -C`), in an order that rotates",
             "between rounds."] if st.has("dlmed:dns-ip") else []
    ratios = ["| %s | %s |" % (t, st.ci("dlr:" + k, 100, 1, "%")) for k, t in (
        ("dns-names", "name rule / no filter"), ("dns-ip", "same policy by address / no filter"),
        ("names-ip", "name rule / same policy by address")) if st.has("dlr:" + k)]
    if ratios:
        ratios = ["", "Ratios of the medians of all names, with a 95% bootstrap interval over the rounds:",
                  "", "| ratio | median |", "| --- | --- |"] + ratios
    hooks = [h for h in ("connect4", "sendmsg4", "egress", "ingress", "sockops")
             if st.med("dbpfc:dns-names/" + h) or st.med("dbpfc:dns-ip/" + h)]
    bpf = ["| %s | %s | %s | %s | %s |" % (
        h, st.num("dbpfc:dns-ip/" + h, 1, 2), st.fmt("dbpfh:dns-ip/" + h, 1, 0),
        st.num("dbpfc:dns-names/" + h, 1, 2), st.fmt("dbpfh:dns-names/" + h, 1, 0)) for h in hooks]
    if st.has("dbpf:dns-names"):
        bpf.append("| **all** | | %s | | %s |" % (st.fmt("dbpf:dns-ip", 1, 0), st.fmt("dbpf:dns-names", 1, 0)))
    if bpf:
        bpf = ["", "**Where the time goes**: the BPF run time per resolve + connect "
               "(`kernel.bpf_stats_enabled`,",
               "run_time_ns and run_cnt of each program over a loop of the same operation), by hook, "
               "for the",
               "name rule and for the same policy by address; calls per operation (two connects: the",
               "query's UDP socket and the TCP connection; on egress the query and the connection's",
               "packets; on ingress the answer and the connection's). The difference between the two is",
               "what learning from the answer costs; the rest is the filter's per-socket work (issue 16:",
               "the socket storage that holds the owner, the verdict cache and the name rule's grant).",
               "", "| hook | calls, by address | ns/op, by address | calls, name rule | ns/op, name rule |",
               "| --- | --- | --- | --- | --- |"] + bpf
    # dns_env.txt: this phase's data come from a run of it alone
    denv = dict((f[0], " ".join(f[1:])) for f in (line.split() for line in run.lines("dns_env.txt") or [])
                if f)
    alone = ["", "This section's data come from the phase run alone (`bench/run.sh --only dns`) on %s, "
             "at git %s, on the same machine." % (denv.get("date", "?"), denv.get("git", "?"))] if denv else []
    return {"DNSLAT_ROWS": lat, "DNS_THIRD": third, "DNS_RATIO": ratios, "DNS_BPF": bpf, "DNS_ALONE": alone,
            "DNSANS_ROWS": ans, "NAMESNS_ROWS": nn,
            "NAMESNS_INFO": ["- " + line[2:] for line in info if line.startswith("# ")]}


def bst_rows(run, st, p):
    """BPF ns per packet of every program measured under prefix p."""
    return ["| %s | %s | %s |" % (fam(c), hum(cfg_n(c)), st.fmt(p + ":" + c, 1, 1))
            for c in run.configs if st.has(p + ":" + c)]


def sec_bpfstats(run, st, ctx):
    if not run.has("bpfstats.csv"):
        return None
    return {"REL": run.rel, "BST_ROWS": bst_rows(run, st, "bst")}


def sec_bpfstats_md(run, st, ctx):
    if not (run.has("bpfstats.csv") and run.has("bpfstats_md.csv")):
        return None
    return {"BSTM_ROWS": bst_rows(run, st, "bstm")}


PROG_PACKETS = ("v4_hit", "v6_hit", "v4_miss", "v4_walk", "v4_hit_nc", "v6_hit_nc", "v4_miss_nc",
                "v4_walk_nc", "v4_hit1", "v4_rand1")


def prog_rows(run, st):
    rows = []
    for pk in PROG_PACKETS:
        for pt in ("0", "1"):
            if not st.has("tr:%s/%s/%s" % (run.nmin, pt, pk)):
                continue
            cells = [st.fmt("tr:%s/%s/%s" % (n, pt, pk), 1, 0) for n in run.ns]
            a = st.med("tr:%s/%s/%s" % (run.nmin, pt, pk))
            b = st.med("tr:%s/%s/%s" % (run.nemax, pt, pk)) or 0.0
            g = "%.2fx" % (b / a) if a else "n/a"
            rows.append("| %s | %s |%s %s |" % (pk, "yes" if pt == "1" else "no",
                                               "".join(" %s |" % x for x in cells), g))
    return rows


def sec_prog(run, st, ctx):
    if not run.has("prog_ns.csv"):
        return None
    info = run.lines("prog_ns.info") or []
    insns = ctx["insns"]
    repeat = []
    for line in (run.lines("env.txt") or []):
        if "prog" in line:
            f = line.split() + [""] * 3
            repeat += [f[i + 3] for i in range(len(f) - 3) if f[i] == "prog"]
    return {"PROG_REPEAT": "\n".join(repeat),
            "INSNS_TEXT": "Verifier instruction count: " + insns if insns is not None else "",
            "PROG_HEAD": "".join(" N=%s |" % hum(n) for n in run.ns),
            "PROG_SEP": " --- |" * len(run.ns),
            "NEMAX_H": hum(run.nemax), "NMIN_H": hum(run.nmin),
            "PROG_ROWS": prog_rows(run, st),
            "PROG_INSTANCES": ["- " + line[2:] for line in info if line.startswith("# n ")]}


def sec_edit_kernel(run, st, ctx):
    if not run.has("edit_kernel.csv"):
        return None
    rows = ["| %s | %s | %s | %s |" % (hum(n), st.fmt("ke:egr-%s/add" % n, 1, 1),
                                       st.fmt("ke:egr-%s/remove" % n, 1, 1),
                                       st.fmt("ke:egr-%s/trie_update" % n, 1, 2)) for n in run.ns]
    return {"KE_ROWS": rows}


def sec_edit_cmd(run, st, ctx):
    if not run.has("edit_cmd.csv"):
        return None
    rows = []
    for n in run.all_ns:
        cells = ["%s / %s" % (st.fmt("ce:%s-%s/add" % (x, n), 1, 2), st.fmt("ce:%s-%s/remove" % (x, n), 1, 2))
                 for x in ("egr", "ipt", "ips", "nft")]
        rows.append("| %s | %s |" % (hum(n), " | ".join(cells)))
    return {"CE_ROWS": rows, "REL": run.rel}


def sec_bulk(run, st, ctx):
    if not run.has("bulk.csv"):
        return None
    rows = []
    for n in run.all_ns:
        keys = ["egr-" + n, "egr-replace-" + n, "ipt-" + n, "ips-" + n, "nft-" + n]
        rows.append("| %s | %s |" % (hum(n), " | ".join(st.fmt("bulk:" + k, 1, 3) for k in keys)))
        rows.append("| CPU | %s |" % " | ".join(st.num("bulkc:" + k, 1, 3) for k in keys))
    return {"BULK_ROWS": rows}


def sec_phases(run, st, ctx):
    ph = ctx["phases"]
    if ph is None:
        return None
    s = lambda k: number(ph.get(k)) / 1e9
    return {"NEMAX_H": hum(run.nemax),
            "PH_PARSE": "%.3f" % s("parse_ns"), "PH_EV": "%.3f" % s("yaml_events_ns"),
            "YAML_EVENTS": "%d" % number(ph.get("yaml_events")), "PH_COMPILE": "%.3f" % s("compile_ns"),
            "PH_READ": "%.3f" % s("read_live_ns"), "PH_RB": "%.3f" % s("read_batch_ns"),
            "PREFIXES_V4": "%d" % number(ph.get("prefixes_v4")),
            "PREFIXES_V6": "%d" % number(ph.get("prefixes_v6")),
            "PH_FILL": "%.3f" % (s("fill_batch_v4_ns") + s("fill_batch_v6_ns")),
            "PH_PAR": "%.3f" % s("fill_parallel_ns"), "PH_SINGLE": "%.3f" % s("fill_single_v4_ns"),
            "PH_OUTER": "%.4f" % s("outer_update_ns"), "PH_KAPPLY": "%.3f" % s("kpolicy_apply_ns"),
            "PH_TOTAL": "%.3f" % (s("parse_ns") + s("kpolicy_apply_ns"))}


PERF_FILTER = re.compile(r"bpf_prog_|trie_|lpm|bpf_loop|bpf_skb_load|skb_copy_bits|cgroup_bpf|bpf_map|nft_|"
                         r"nf_tables|ipt_do_table|ip_set|hash_net|bpf_sk_|sk_storage|bpf_ktime|array_map|"
                         r"percpu_array|pipapo|rbtree")


def sec_perf(run, st, ctx):
    if not run.has("perf.csv"):
        return None
    total, top = {}, {}
    for r in run.rows("perf.csv"):
        c, pct, sym = r["config"], number(r["pct"]), r["symbol"] or ""
        total.setdefault(c, 0.0)
        top.setdefault(c, [])
        if PERF_FILTER.search(sym) and not re.match(r"__bpf_prog_(enter|exit)", sym):
            total[c] += pct
            top[c].append("%s %g" % (sym, pct))
    rows = ["| %s | %.1f%% | %s |" % (c, total[c], ", ".join(top[c][:5])) for c in total]
    return {"PERF_ROWS": rows}


STARTUP = (("egressctl --version", None),
           ("startup_all", "empty program linked with all of egressctl's libraries, shared, "
                           "libcurl and libmicrohttpd included"),
           ("startup_core", "empty program with libbpf, libelf, zlib, libyaml, jansson only, shared "
                            "(no libcurl, libmicrohttpd)"),
           ("ipset --version", None), ("iptables --version", None), ("nft --version", None))


def sec_startup(run, st, ctx):
    if not run.has("startup.csv"):
        return None
    rows = []
    for cmd, what in STARTUP:
        key = "st:" + cmd.replace(" ", "_")
        if st.has(key):
            rows.append("| %s | %s |" % (what or "`%s`" % cmd, st.fmt(key, 1, 2)))
    return {"STARTUP_ROWS": rows}


def sec_attach(run, st, ctx):
    if not run.has("attach.csv"):
        return None
    rows = ["| %s | %s | %s |" % (cap, st.fmt("att:%s/cmd" % cap, 1, 1), st.fmt("att:%s/enf" % cap, 1, 1))
            for cap in ("16384", "1048576") if st.has("att:%s/cmd" % cap)]
    return {"ATTACH_ROWS": rows}


SETUP_NAMES = {"ipt": "iptables chain", "ips": "ipset hash:net"}


def sec_setup(run, st, ctx):
    if not run.has("setup.csv"):
        return None
    rows = []
    for r in run.rows("setup.csv"):
        f = r["config"].split("-", 1)[0]
        name = ("egressctl (--max-rules %s)" % r["max_rules"] if f == "egr"
                else SETUP_NAMES.get(f, "nft interval set"))
        kmem, n = field(r, "kmem_bytes"), field(r, "n")
        if kmem < 0 or n == 0:
            rows.append("| %s | %s | n/a | n/a | %s |" % (name, r["n"], r["load_ms"]))
        else:
            rows.append("| %s | %s | %.1f MiB | %.0f | %s |" % (name, r["n"], kmem / 1048576, kmem / n,
                                                                 r["load_ms"]))
    return {"SETUP_ROWS": rows}


def sec_mem(run, st, ctx):
    lines = run.lines("mem.txt")
    if lines is None:
        return None
    c, order, m = "", [], {}
    for f in (line.split() + ["", ""] for line in lines):
        if f[0] == "config":
            c = f[1]
        if not c.startswith("egr-"):
            continue
        d = m.setdefault(c, {"total_bytes": 0.0, "tries": 0.0, "max_rules": "", "rules": ""})
        if f[0] == "total_bytes":
            d["total_bytes"] = number(f[1])
        elif f[0].startswith("map_trie"):
            d["tries"] += number(f[1])
        elif f[0] in ("max_rules", "rules"):
            d[f[0]] = f[1]
        if f[0] == "rules":
            order.append(c)
    rows = []
    for d in (m[c] for c in order):
        t, tr, r = d["total_bytes"], d["tries"], number(d["rules"]) or math.nan
        rows.append("| %s | %s | %.1f MiB | %.1f MiB | %.0f | %.0f |" % (
            d["rules"], d["max_rules"], t / 1048576, tr / 1048576, t / r, tr / r))
    return {"MEM_ROWS": rows}


def sec_atomic(run, st, ctx):
    if not run.has("atomic.txt"):
        return None
    at = ctx["atomic"]
    return {"NEMAX_H": hum(run.nemax), "AT_SEQ": at["seq"] or "n/a", "AT_FLIP": at["flip"] or "?",
            "AT_DUR": at["dur"] or "?"}


SECTIONS = {
    "title": None, "smoke": sec_smoke, "head": sec_head, "targets": sec_targets, "udp": sec_udp,
    "udp_md": sec_udp_md, "tcp": sec_tcp, "conn": sec_conn, "dns": sec_dns, "bpfstats": sec_bpfstats, "bpfstats_md": sec_bpfstats_md,
    "prog": sec_prog, "update": None, "edit_kernel": sec_edit_kernel, "edit_cmd": sec_edit_cmd,
    "bulk": sec_bulk, "phases": sec_phases, "perf": sec_perf, "startup": sec_startup,
    "attach_head": None, "attach": sec_attach, "memory_head": None,
    "setup": sec_setup, "mem": sec_mem, "atomic": sec_atomic,
}


# ---- bench/analysis.md ---------------------------------------------------------------
# Its figures by name; a figure that is missing reads "n/a".


def perfpct(run, c, regex):
    """Summed % of the perf samples of config c in symbols matching regex."""
    if not run.has("perf.csv"):
        return "0"
    return "%.1f" % sum(number(r["pct"]) for r in run.rows("perf.csv")
                        if r["config"] == c and re.search(regex, r["symbol"] or ""))


def kmem_per(run, c):
    """Kernel memory per rule of config c at setup, in bytes."""
    return "".join("%.0f" % (field(r, "kmem_bytes") / field(r, "n")) for r in run.rows("setup.csv")
                   if r["config"] == c and field(r, "kmem_bytes") > 0 and field(r, "n") != 0)


def flt(s):
    return float(s) if s else 0.0


def analysis_rate(run, st, ctx):
    E, L, N0 = run.e, "lpm1-" + run.nemax, "egr-" + run.nmin
    o = lambda k: st.med("cpuo:" + k) or 0.0
    trie_pct = perfpct(run, E, r"^trie_lookup_elem$")
    return {
        "T1": st.num("cpur:" + E, 100, 1), "NONE_NS": st.num("cpuns:none", 1, 0),
        "BUDGET": "%.0f" % ((st.med("cpuns:none") or 0.0) * (1 / 0.95 - 1)),
        "NOOP_O": st.num("cpuo:noop", 1, 0), "NOOP_R": st.num("cpur:noop", 100, 1),
        "NOOP_RF": st.fmt("cpur:noop", 100, 1), "E1M_RF": st.fmt("cpur:" + E, 100, 1),
        "LPM_O": st.num("cpuo:" + L, 1, 0), "LPM_R": st.num("cpur:" + L, 100, 1),
        "E10_O": st.num("cpuo:" + N0, 1, 0), "E10_R": st.num("cpur:" + N0, 100, 1),
        "E1M_O": st.num("cpuo:" + E, 1, 0), "E1M_R": st.num("cpur:" + E, 100, 1),
        "TRIE_PCT": trie_pct, "PROG_PCT": perfpct(run, E, r"egr_egress|walk_step"),
        "TRIE_NS": "%.0f" % (float(trie_pct) / 100 * (st.med("cpuns:" + E) or 0.0)),
        "TRIE_ONLY": "%.0f" % (o(L) - o("noop")), "REST_NS": "%.0f" % (o(E) - o(L)),
        "NFT_PCT": perfpct(run, "nft-" + run.nemax, r"^nft_.*lookup"),
        "IPS_PCT": perfpct(run, "ips-" + run.nemax, r"^hash_net4_test$"),
        "CACHE_NS": "%.0f" % (o(E) - o("noop")), "CACHE10_NS": "%.0f" % (o(N0) - o("noop")),
        "MDR_E1M": st.num("mdcpur:" + E, 100, 1), "MDR_E10": st.num("mdcpur:" + N0, 100, 1),
        "MDR_NOOP": st.num("mdcpur:noop", 100, 1), "MDR_NFT1M": st.num("mdcpur:nft-" + run.nemax, 100, 1),
        "MDR_IPS1M": st.num("mdcpur:ips-" + run.nemax, 100, 1), "MDO_E1M": st.num("mdcpuo:" + E, 1, 0),
        "MDNS_NONE": st.num("mdcpuns:none", 1, 0),
        "MDVS_NFT1M": st.num("mdcpuvs:nft-" + run.nemax, 1, 2),
        "MDVS_IPS1M": st.num("mdcpuvs:ips-" + run.nemax, 1, 2),
    }


def analysis_bpf(run, st, ctx):
    lo, hi, g = run.nmin, run.nemax, ctx["growth"]
    tr = lambda n, pk: st.num("tr:%s/0/%s" % (n, pk), 1, 0)
    return {
        "TR_HIT10": tr(lo, "v4_hit"), "TR_HIT1M": tr(hi, "v4_hit"), "TR6_10": tr(lo, "v6_hit"),
        "TR6_1M": tr(hi, "v6_hit"), "TR_RAND10": tr(lo, "v4_rand1"), "TR_RAND1M": tr(hi, "v4_rand1"),
        "TR_HIT1": tr(hi, "v4_hit1"), "TRN_HIT10": tr(lo, "v4_hit_nc"), "TRN_HIT1M": tr(hi, "v4_hit_nc"),
        "TRN6_10": tr(lo, "v6_hit_nc"), "TRN6_1M": tr(hi, "v6_hit_nc"),
        "TR_RAND_G": g["trr"], "TR_G": g["tr"], "TR6_G": g["tr6"], "TRN_G": g["trn"], "TRN6_G": g["trn6"],
        "BST10": st.num("bst:egr-" + lo, 1, 0), "BST1M": st.num("bst:" + run.e, 1, 0), "BST_G": g["bst"],
        "BST_PF": ctx["targets"][1][2].lower(), "INSNS": ctx["insns"],
        "BSTM10": st.num("bstm:egr-" + lo, 1, 0), "BSTM1M": st.num("bstm:" + run.e, 1, 0), "BM_G": g["bstm"],
    }


def analysis_versus(run, st, ctx):
    E, hi = run.e, run.nemax
    return {
        "VS_NFT1M": st.num("cpuvs:nft-" + hi, 1, 2), "VS_IPT1K": st.num("cpuvs:ipt-1000", 1, 1),
        "VS_IPS1M": st.num("cpuvs:ips-" + hi, 1, 2), "VS_IPS1K": st.num("cpuvs:ips-1000", 1, 2),
        "VS_NFT1K": st.num("cpuvs:nft-1000", 1, 2), "VS_NFT100K": st.num("cpuvs:nft-100000", 1, 2),
        "VS_IPS100K": st.num("cpuvs:ips-100000", 1, 2),
        "K_ADD1M": st.num("ke:%s/add" % E, 1, 1), "K_PUB1M": st.num("ke:%s/trie_update" % E, 1, 2),
        "C_ADD1M": st.num("ce:%s/add" % E, 1, 2), "C_REM1M": st.num("ce:%s/remove" % E, 1, 2),
        "IPS_ADD1M": st.num("ce:ips-%s/add" % hi, 1, 2), "IPS_DEL1M": st.num("ce:ips-%s/remove" % hi, 1, 2),
        "NFT_ADD1K": st.num("ce:nft-1000/add", 1, 2), "IPT_ADD1K": st.num("ce:ipt-1000/add", 1, 2),
        "ST_EGR": st.num("st:egressctl_--version", 1, 2), "ST_IPSET": st.num("st:ipset_--version", 1, 1),
        "ST_ALL": st.num("st:startup_all", 1, 1), "ST_CORE": st.num("st:startup_core", 1, 1),
        "ST_DIFF": "%.1f" % ((st.med("st:startup_all") or 0.0) - (st.med("st:startup_core") or 0.0)),
        "PROJ_ALLOW": "%.1f" % ((st.med("ce:%s/add" % E) or 0.0) -
                                ((st.med("st:startup_all") or 0.0) - (st.med("st:startup_core") or 0.0))),
        "ATT_S": st.num("att:16384/cmd", 1, 0), "ATT_L": st.num("att:1048576/cmd", 1, 0),
        "MEM_E1M": kmem_per(run, E), "MEM_IPT1M": kmem_per(run, "ipt-" + hi),
        "MEM_NFT1M": kmem_per(run, "nft-" + hi), "MEM_IPS1M": kmem_per(run, "ips-" + hi),
    }


def analysis_bulk(run, st, ctx):
    E, hi = run.e, run.nemax
    b = lambda k, s, d: st.num("bulk:" + k, s, d)
    small = [st.med("bulk:" + k) for k in ("ipt-10", "ipt-1000", "ips-10", "ips-1000", "nft-10", "nft-1000")]
    small = [x * 1000 for x in small if x is not None]
    outer = ctx["ph_outer"]
    return {
        "A_NEW": b(E, 1, 2), "A_REP": b("egr-replace-" + hi, 1, 2),
        "T5_REP_PF": "pass" if lt(st.med("bulk:egr-replace-" + hi), 3) else "fail",
        "IPT_BULK1M": b("ipt-" + hi, 1, 2), "NFT_BULK1M": b("nft-" + hi, 1, 2),
        "IPS_BULK1M": b("ips-" + hi, 1, 2),
        "A_SMALL": b("egr-1000", 1000, 0), "A_SMALL_CPU": st.num("bulkc:egr-1000", 1000, 0),
        "NF_SMALL": "%.0f–%.0f" % (min(small, default=0.0), max(small + [0.0])),
        "PROJ_SMALL": "%.0f" % ((st.med("bulk:egr-1000") or 0.0) * 1000 - 5 * flt(outer)), "OUTER_MS": outer,
        "A_1K": b("egr-1000", 1000, 1), "IPS_1K": b("ips-1000", 1000, 1), "NFT_1K": b("nft-1000", 1000, 1),
        "IPT_1K": b("ipt-1000", 1000, 1), "A_100K": b("egr-100000", 1000, 0),
        "A_REP100K": b("egr-replace-100000", 1000, 0), "IPS_100K": b("ips-100000", 1000, 0),
        "NFT_100K": b("nft-100000", 1000, 0), "BULKVS_IPS100K": st.num("bulkvs:ips-100000", 1, 2),
        "BULKVS_IPS1M": st.num("bulkvs:ips-" + hi, 1, 2), "BULKVS_IPS1K": st.num("bulkvs:ips-1000", 1, 2),
    }


def analysis_apply(run, st, ctx):
    ph, at = ctx["phases"], ctx["atomic"]
    s = lambda k: "%.2f" % (number(ph[k]) / 1e9) if ph is not None and k in ph else ""
    fill = ""
    if ph is not None:
        fill = "%.2f" % ((number(ph.get("fill_batch_v4_ns")) + number(ph.get("fill_batch_v6_ns"))) / 1e9)
    p = {"PH_PARSE": s("parse_ns"), "PH_EV": s("yaml_events_ns"), "PH_READ": s("read_live_ns"),
         "PH_RB": s("read_batch_ns"), "PH_PAR": s("fill_parallel_ns"), "PH_COMPILE": s("compile_ns"),
         "PH_SINGLE": s("fill_single_v4_ns"), "PH_FILL": fill}
    rep = st.med("bulk:egr-replace-" + run.nemax) or 0.0
    proj = "%.1f" % (rep - (flt(p["PH_PARSE"]) - flt(p["PH_EV"])) - (flt(p["PH_READ"]) - flt(p["PH_RB"]))
                     - (flt(fill) - flt(p["PH_PAR"])))
    p.update({"PROJ_APPLY": proj, "PROJ_APPLY2": "%.1f" % (float(proj) - flt(p["PH_RB"]) + 0.05),
              "AT_SEQ": at["seq"], "AT_FLIP": at["flip"], "AT_DUR": at["dur"],
              "T5A_PF": "passes" if at["ok"] else "fails"})
    return p


def analysis_dns(run, st, ctx):
    """The resolve-then-connect analysis (n/a for what the run lacks)."""
    def diff(k):
        a, b = "dbpfh:dns-names/" + k, "dbpfh:dns-ip/" + k
        return "%.1f" % ((st.med(a) - st.med(b)) / 1000) if st.has(a) and st.has(b) else ""
    ci = lambda k: st.ci(k, 100, 1, "%")
    return {
        "DL_NAMES": ci("dlr:dns-names"), "DL_IP": ci("dlr:dns-ip"), "DL_NI": ci("dlr:names-ip"),
        "DL_US_NONE": st.num("dlmed:dns-none", 1, 0), "DL_US_IP": st.num("dlmed:dns-ip", 1, 0),
        "DL_US_NAMES": st.num("dlmed:dns-names", 1, 0),
        "DB_IP": st.num("dbpf:dns-ip", 1e-3), "DB_NAMES": st.num("dbpf:dns-names", 1e-3),
        "DB_C4": st.num("dbpfh:dns-ip/connect4", 1e-3), "DB_IN": diff("ingress"), "DB_EG": diff("egress"),
        "DB_IN_IP": st.num("dbpfh:dns-ip/ingress", 1, 0),
    }


def analysis_values(run, st, ctx):
    vals = {}
    for part in (analysis_rate, analysis_bpf, analysis_versus, analysis_bulk, analysis_apply,
                 analysis_dns):
        vals.update(part(run, st, ctx))
    return {k: x if x else "n/a" for k, x in vals.items()}


# ---- plots ----------------------------------------------------------------------


def dat_line(n, st, keys):
    return n + "".join(" " + st.num(k, 1, 1) if st.has(k) else " ?" for k in keys)


def write_dat(run, name, header, lines):
    with open(run.path(name), "w", encoding="utf-8") as f:
        f.write("\n".join([header] + lines) + "\n")


def plots(run, st):
    """The plots' data next to the results, drawn by gnuplot (bench/plots.gp)."""
    if not run.has("udp.csv") or not shutil.which("gnuplot"):
        return
    X = ("egr", "ipt", "ips", "nft")
    write_dat(run, "plot_cost.dat", "# N none egr ipt ips nft (sender CPU ns per packet, median)",
              [dat_line(n + " " + st.num("cpuns:none", 1, 1), st, ["cpuns:%s-%s" % (x, n) for x in X])
               for n in run.all_ns])
    write_dat(run, "plot_over.dat", "# N egr ips nft noop lpm1 (sender CPU ns per packet over no filter, "
              "median of per-round differences)",
              [dat_line(n, st, ["cpuo:egr-" + n, "cpuo:ips-" + n, "cpuo:nft-" + n, "cpuo:noop",
                                "cpuo:lpm1-" + run.nemax]) for n in run.all_ns])
    write_dat(run, "plot_bpf.dat", "# N bpfstats testrun_v4hit testrun_v6hit testrun_v4rand1 "
              "testrun_v4hit_ports lpm1 bpfstats_md testrun_v4hit_nc testrun_v6hit_nc",
              [dat_line(n, st, ["bst:egr-" + n, "tr:%s/0/v4_hit" % n, "tr:%s/0/v6_hit" % n,
                                "tr:%s/0/v4_rand1" % n, "tr:%s/1/v4_hit" % n, "bst:lpm1-" + n,
                                "bstm:egr-" + n, "tr:%s/0/v4_hit_nc" % n, "tr:%s/0/v6_hit_nc" % n])
               for n in run.ns])
    none = st.med("cpuns:none") or 0.0
    gp = lambda s: "'" + s.replace("'", "''") + "'"
    setv = "R=%s; NEMAX=%s; BUDGET=%.1f" % (gp(run.dir), gp(hum(run.nemax)),
                                             (none if none > 0 else 0) * (1 / 0.95 - 1))
    with open(run.path("log.txt"), "a", encoding="utf-8") as log:
        subprocess.run(["gnuplot", "-e", setv, os.path.join(HERE, "plots.gp")], stdout=log, stderr=log,
                       check=False)


# ---- the document ---------------------------------------------------------------------


PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def fill(text, values, where):
    """text with its @KEY@ filled from values (a list value: the line is those lines)."""
    out = []
    for line in text.splitlines(keepends=True):
        m = re.fullmatch(r"@([A-Z][A-Z0-9_]*)@\n?", line)
        if m and isinstance(values.get(m.group(1)), list):
            out.extend(x + "\n" for x in values[m.group(1)])
            continue

        def one(m):
            if m.group(1) not in values:
                raise SystemExit("report.py: %s: no value for @%s@" % (where, m.group(1)))
            return values[m.group(1)]
        out.append(PLACEHOLDER.sub(one, line))
    return "".join(out)


def template_sections(path):
    """[(name, text)] of the "@@ NAME" sections of a template."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parts = re.split(r"^@@ *(\S+)[^\n]*\n", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def context(run, st):
    """What several sections and the analysis share."""
    ph = None
    lines = run.lines("apply_phases.txt")
    if lines is not None:
        ph = {f[0]: (f + [""])[1] for f in (line.split() for line in lines) if f}
    outer = "%.0f" % (number(ph["outer_update_ns"]) / 1e6) if ph and "outer_update_ns" in ph else ""
    m = re.search(r"verified_insns ([0-9]*)", "\n".join(run.lines("prog_ns.info") or []))
    ctx = {"phases": ph, "ph_outer": outer, "insns": m.group(1) if m else None,
           "atomic": atomic(run), "growth": growths(run, st)}
    ctx["versus"], t3 = versus(run, st)
    ctx["targets"] = [t for t in targets(run, st, ctx["growth"], ctx["atomic"], t3) if t]
    return ctx


def document(run, st, ctx):
    out = []
    for name, text in template_sections(os.path.join(HERE, "BENCHMARKS.md.in")):
        if name not in SECTIONS:
            raise SystemExit("report.py: BENCHMARKS.md.in: unknown section %s" % name)
        vals = SECTIONS[name](run, st, ctx) if SECTIONS[name] else {}
        if vals is not None:
            out.append(fill(text, vals, "BENCHMARKS.md.in section " + name))
    analysis = os.path.join(HERE, "analysis.md")
    if not run.smoke and os.path.isfile(analysis):
        with open(analysis, encoding="utf-8") as f:
            out.append(fill(f.read(), analysis_values(run, st, ctx), "analysis.md") + "\n")
    return "".join(out)


def kept_soak(path):
    """The soak section (make soak, tests/soak/report.py) of the report being
    replaced: kept, at the end."""
    begin, end = "<!-- soak: begin", "<!-- soak: end -->"
    try:
        with open(path, encoding="utf-8") as f:
            old = f.read()
    except OSError:
        return ""
    if begin not in old or end not in old:
        return ""
    return "\n" + old[old.index(begin):old.index(end) + len(end)] + "\n"


def main():
    ap = argparse.ArgumentParser(description="Write the benchmark report of one bench/run.sh run.")
    ap.add_argument("results", metavar="RESULTS_DIR", help="the run's data (bench/results/)")
    ap.add_argument("out", metavar="OUT_MD", help="the report to write (BENCHMARKS.md)")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.results, "env.txt")):
        raise SystemExit("report.py: %s: no env.txt, not the results of a bench/run.sh run" % args.results)
    run = Run(args.results, args.out)
    st = load(run)
    ctx = context(run, st)
    plots(run, st)
    text, soak = document(run, st, ctx), kept_soak(args.out)
    if soak:  # after one blank line
        text = text.rstrip("\n") + "\n" + soak
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print("report: %s" % args.out)
    for t, m, r in ctx["targets"]:
        print("target: %s : %s%s" % (t, m, " : " + r if r else ""))


if __name__ == "__main__":
    main()
