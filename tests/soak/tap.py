# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What soak.py and churn.py share: "ok - ..." / "not ok - ..." lines (the
e2e tier counts them) with their tally, diagnostics, and a sample of a
process's growth (RSS, file descriptors, BPF maps held and mapped)."""
import os
import re

COUNT = {"pass": 0, "fail": 0}


def ok(name, cond, detail=""):
    COUNT["pass" if cond else "fail"] += 1
    print("%s - %s" % ("ok" if cond else "not ok", name), flush=True)
    if not cond:
        for line in str(detail).splitlines()[:20]:
            print("# " + line, flush=True)
    return cond


def diag(msg):
    for line in str(msg).splitlines():
        print("# " + line, flush=True)


def proc_sample(pid):
    """(RSS kB, fds, BPF map fds, mapped BPF maps) of pid; OSError if gone."""
    st = open("/proc/%d/status" % pid).read()
    rss = int(re.search(r"VmRSS:\s+(\d+)", st).group(1))
    fdd = "/proc/%d/fd" % pid
    fds = os.listdir(fdd)
    mfd = 0
    for f in fds:
        try:
            mfd += os.readlink(os.path.join(fdd, f)) == "anon_inode:bpf-map"
        except OSError:
            pass
    mm = sum(1 for line in open("/proc/%d/maps" % pid) if "bpf-map" in line)
    return rss, len(fds), mfd, mm


def fd_kinds(pid):
    """What pid's descriptors are, counted: "socket 3, /dev/null 1, ..."."""
    kinds = {}
    fdd = "/proc/%d/fd" % pid
    for f in os.listdir(fdd):
        try:
            k = re.sub(r":\[\d+\]$", "", os.readlink(os.path.join(fdd, f)))
        except OSError:
            continue
        kinds[k] = kinds.get(k, 0) + 1
    return ", ".join("%s %d" % kv for kv in sorted(kinds.items()))
