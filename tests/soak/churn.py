#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Attach churn (issue 17 §5, "flat over thousands of attaches"): one
`egressctl watch` process puts a container's policy on a new cgroup N times
in a row. tests/soak/churn.sh creates the container (never started) and
starts watch following the parent cgroup; here the container's cgroup is
made (mkdir, as runc makes it) and removed N times: each time watch sees the
new cgroup, attaches a fresh program instance to it and applies the label
policy; the pins of the removed ones go with watch's periodic cleanup.

Judged ("ok - ..." / "not ok - ..."): every new cgroup got the filter;
watch alive throughout; watch's file descriptors, BPF map descriptors and
mapped maps flat (samples taken at rest: no cleanup or preload under way;
their peak over the last third of the samples no higher than over the
first), its RSS flat (median, under 4 MiB more); the BPF objects of the
whole system (programs, maps, links: `bpftool ... list`) flat the same way.
Reported, not judged: the attach rate. The numbers as JSON to --out.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from tap import COUNT, diag, ok, proc_sample

def bpf_objects():
    """Programs, maps and links of the whole system."""
    n = []
    for kind in ("prog", "map", "link"):
        try:
            out = subprocess.run(["bpftool", "-j", kind, "list"], capture_output=True,
                                 text=True, timeout=60).stdout
            n.append(len(json.loads(out or "[]")))
        except (OSError, ValueError, subprocess.TimeoutExpired):
            n.append(-1)
    return n


def quiet(timeout):
    """Wait (bounded) until watch is at rest: no pins of removed cgroups
    left (its periodic cleanup, once the kernel has freed them) and its
    preloaded instances all loaded, the same for half a second. True if so.
    """
    d = "/sys/fs/bpf/egressctl"
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            names = os.listdir(d)
        except OSError:
            names = []
        state = (sum(1 for n in names if n.isdigit()), sum(1 for n in names if n.startswith("pool-")))
        if state[0] == 0 and state[1] >= 4 and state == last:
            return True
        last = state
        time.sleep(0.5)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cgroup", required=True, help="the container's cgroup (absolute)")
    ap.add_argument("--watch-pid", type=int, required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--every", type=int, default=0,
                    help="a sample every this many attaches (default: 30 samples)")
    ap.add_argument("--max-seconds", type=int, default=3600)
    ap.add_argument("--out", required=True)
    ap.add_argument("--engine", default="")
    a = ap.parse_args()

    if a.every <= 0:
        a.every = max(1, a.n // 24)
    samples = []  # (i, rss, fds, map_fds, mmaps, progs, maps, links)
    missed = 0
    t0 = time.time()
    resting = 0.0  # in quiet(): not attach time
    done = 0
    for i in range(a.n):
        if time.time() - t0 > a.max_seconds:
            diag("stopped after %d attaches: --max-seconds %d" % (i, a.max_seconds))
            break
        os.mkdir(a.cgroup)
        pin = "/sys/fs/bpf/egressctl/%d" % os.stat(a.cgroup).st_ino
        end = time.time() + 60
        while not os.path.exists(pin + "/link_egress") and time.time() < end:
            time.sleep(0.005)
        if not os.path.exists(pin + "/link_egress"):
            missed += 1
            diag("attach %d: no filter on %s within 60 s" % (i, a.cgroup))
        for _ in range(200):
            try:
                os.rmdir(a.cgroup)
                break
            except OSError:
                time.sleep(0.05)
        done += 1
        if done % a.every == 0 or done == 1:
            # at rest, so that samples compare like with like (an attach
            # or a cleanup under way holds more for a moment)
            tq = time.time()
            rest = quiet(60)
            resting += time.time() - tq
            if not rest:
                diag("after %d attaches: watch not at rest within 60 s" % done)
            try:
                w = proc_sample(a.watch_pid)
            except OSError:
                ok("watch alive after %d attaches" % done, False)
                break
            samples.append((done,) + w + tuple(bpf_objects()))
        if done % 250 == 0 and samples:
            s = samples[-1]
            diag("%d attaches in %.0f s: watch rss %d kB, fds %d, map fds %d, mapped %d; "
                 "system: %d progs, %d maps, %d links" % ((done, time.time() - t0) + s[1:]))
    span = time.time() - t0
    busy = span - resting
    ok("%d new cgroups, each with the filter attached" % done, done > 0 and missed == 0,
       "%d without" % missed)
    alive = os.path.exists("/proc/%d" % a.watch_pid)
    ok("watch alive after %d attaches" % done, alive)
    res = {"engine": a.engine, "attaches": done, "missed": missed, "seconds": round(span, 1),
           "per_second": round(done / busy, 2) if busy > 0 else None, "samples": samples}
    keys = ("rss_kb", "fds", "map_fds", "map_mmaps", "progs", "maps", "links")
    s = samples[1:]  # the first: before the pool and caches filled
    if len(s) >= 6:
        k = len(s) // 3
        first, last = s[:k], s[-k:]
        growth = {}
        for i, key in enumerate(keys, 1):
            f = (lambda v: sorted(v)[len(v) // 2]) if key == "rss_kb" else max
            growth[key] = [f([x[i] for x in first]), f([x[i] for x in last])]
        res["growth"] = growth
        diag("first third -> last third: %s" % json.dumps(growth))
        d = {key: v[1] - v[0] for key, v in growth.items()}
        ok("watch's BPF maps flat over %d attaches (held %+d, mapped %+d)"
           % (done, d["map_fds"], d["map_mmaps"]), d["map_fds"] <= 0 and d["map_mmaps"] <= 0)
        ok("watch's file descriptors flat over %d attaches (%+d)" % (done, d["fds"]), d["fds"] <= 0)
        ok("watch's memory flat over %d attaches (RSS %+d kB)" % (done, d["rss_kb"]),
           d["rss_kb"] < 4096)
        ok("the system's BPF programs, maps and links flat over %d attaches (%+d, %+d, %+d)"
           % (done, d["progs"], d["maps"], d["links"]),
           d["progs"] <= 0 and d["maps"] <= 0 and d["links"] <= 0)
    else:
        ok("enough samples to judge growth (%d)" % len(s), False)
    diag("%d attaches in %.0f s (%.1f/s, the waits for rest before the samples left out)"
         % (done, span, done / busy if busy > 0 else 0))
    with open(a.out, "w") as f:
        json.dump(res, f)
    return 1 if COUNT["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
