#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Writes the soak runs' numbers (soak.py --out JSON files) into
BENCHMARKS.md, between the soak markers (the section is appended the first
time). usage: report.py BENCHMARKS.md [LABEL=]RESULT.json... (soak.py's, and
churn.py's: those with "attaches")
(LABEL names the binary of a run, e.g. main=base.json; default: this tree)"""
import json
import subprocess
import sys
import time

BEGIN = "<!-- soak: begin (tests/soak/report.py writes this section) -->"
END = "<!-- soak: end -->"


def f(v, fmt="%.0f"):
    return "-" if v is None else fmt % v


def spans(d, keys):
    """first -> last of each key of d (a [first, last] pair), or "-"."""
    return ["%d -> %d" % tuple(d[k]) if d.get(k) else "-" for k in keys]


def section(runs, churns):
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "?"
    L = [BEGIN, "## Soak: `watch --strict` under churn (`make soak`)", "",
         "Written at commit %s, %s; this machine (%d CPUs, shared). Per run: containers with a label "
         "policy started, restarted and removed (`rm -f`, some mid-start) in batches, each "
         "connecting to a denied and an allowed port the instant it starts; `watch --strict -j` "
         "killed with SIGKILL and restarted at random times (tests/soak/)."
         % (rev, time.strftime("%Y-%m-%d", time.gmtime()), __import__("os").cpu_count()), "",
         "Start event -> policy in force, ms: watch's `ms`, from the engine's time of the "
         "event (`t0`: engine), or, for binaries before that, from when watch received it "
         "(`t0`: received; a lower bound). Mode hook: the start-up hook (Podman's OCI hook, "
         "Docker's runtime wrapper) puts the policy in force before the container's first "
         "instruction, so watch finds it in force (`in force at start` below) and there is "
         "nothing to time. The load average is the 1-minute one, sampled every "
         "second, averaged over the run.", "",
         "| binary | engine | mode | s | starts | restarts | rm -f (mid-start) | kills | n | t0 | "
         "p50 | p90 | p99 | max | load avg |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        c, e = r["counts"], r.get("enforce_ms", {})
        L.append("| %s | %s | %s | %.0f | %d | %d | %d (%d) | %d | %d | %s | %s | %s | %s | %s | %s |" % (
            r["label"], r["engine"], r["mode"], r["duration_s"], r["starts"], c["restart"], c["rm"],
            c["rm_midstart"], c["watch_kills"], e.get("n", 0), e.get("t0") or "-",
            f(e.get("p50")), f(e.get("p90")),
            f(e.get("p99")), f(e.get("max")), f(r.get("loadavg_mean"), "%.2f")))
    L += ["", "What held, and watch's growth (its longest run between kills, middle third of "
          "the samples -> last third, each its floor; the first third is the warm-up):", "",
          "| binary | engine | mode | denied conns | allowed arrived / judged | first SYN | "
          "in force at start | non-JSON lines | RSS kB | fds | map fds | mapped maps |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        L.append("| %s | %s | %s | %d | %d / %d | %d | %s | %d | %s | %s | %s | %s |" % ((
            r["label"], r["engine"], r["mode"], r["denied_connections"],
            r["allowed_judged"] - r["allowed_missing"], r["allowed_judged"], r["first_syn"],
            f(r.get("enforce_ms", {}).get("already_in_force"), "%d"), r["non_json_lines"]) +
            tuple(spans(r.get("longest_watch", {}), ("rss_kb", "fds", "map_fds", "map_mmaps")))))
    if churns:
        L += ["", "Attach churn (tests/soak/churn.sh): one `watch` puts a created container's "
              "label policy on its cgroup, made and removed again and again (as runc makes "
              "it), each time a new cgroup and a fresh program instance; the pins of the "
              "removed ones go with watch's cleanup. First third of the samples -> last third "
              "(samples at rest; RSS: median; the rest: peak); programs, maps and links: the whole system's "
              "(`bpftool`).", "",
              "| binary | engine | attaches | s | per s (at rest left out) | missed | RSS kB | fds | map fds | "
              "mapped maps | progs | maps | links |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in churns:
            L.append("| %s | %s | %d | %.0f | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % ((
                r["label"], r.get("engine", "-"), r["attaches"], r["seconds"],
                f(r.get("per_second"), "%.1f"), r["missed"]) + tuple(spans(
                    r.get("growth", {}), ("rss_kb", "fds", "map_fds", "map_mmaps", "progs",
                                          "maps", "links")))))
    L += ["", END]
    return "\n".join(L) + "\n"


def main():
    path, runs, churns = sys.argv[1], [], []
    for arg in sys.argv[2:]:
        label, _, f = arg.rpartition("=")
        r = json.load(open(f))
        r["label"] = label or "this tree"
        (churns if "attaches" in r else runs).append(r)
    text = open(path).read()
    new = section(runs, churns)
    if BEGIN in text and END in text:
        a = text.index(BEGIN)
        b = text.index(END) + len(END) + 1
        text = text[:a] + new + text[b:]
    else:
        text = text.rstrip("\n") + "\n\n" + new
    open(path, "w").write(text)


if __name__ == "__main__":
    main()
