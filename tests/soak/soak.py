#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The soak test's churn and its checks (tests/soak/soak.sh sets up the
engine, the receiver's namespace and the image, and checks what is left).

Containers with a label policy are started, restarted and removed (rm -f,
some while they start) in batches; each one, the instant it starts, connects
to a denied port and to an allowed one of the receiver (the kernel
retransmits the SYN; the allowed connect waits 20 s). `egressctl watch
--strict -j` runs throughout and is killed with SIGKILL and restarted at
random times. Judged:
  - zero connections reached the denied port;
  - every start of a container not removed or restarted within 25 s (the
    connect's window: a restart kills the connecting process) connected to
    the allowed port (mode hook: on its first SYN, every time, and so did
    every allowed connection that arrived, judged or not);
  - watch -j: every line on stdout and stderr is a JSON object, each warning
    text at most once per watch run;
  - watch's RSS, file descriptors and BPF maps (mapped and held) flat: per
    watch run, the floor of the last third of the samples against the
    middle third's (the first is the warm-up).
Reported only (never judged: timing): the start event -> enforcement
distribution from watch's own -j lines ("ms": from the engine's event time
when watch has it). "ok - ..." / "not ok - ..." lines; the numbers as JSON
to --out.

Modes: watch (watch --strict alone). hook: the OCI hook / runtime wrapper as
well, set up by soak.sh; here Docker's containers run with --runtime
egressctl, Podman's get their policy as an annotation too (the hook's; watch
reads the label), and the first SYN is judged.
"""
import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

from tap import COUNT, diag, fd_kinds, ok, proc_sample

ALLOWED, DENIED = 7000, 7001
def pct(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return []


class Soak:
    def __init__(self, a):
        self.a = a
        self.cli = a.cli.split()
        self.run_args = a.run_args.split() if a.run_args else []
        self.rng = random.Random(a.seed)
        self.lock = threading.Lock()
        self.n = 0
        self.live = {}  # name -> number of starts
        self.starts = []  # (name, k, wall time, how)
        self.removed_at = {}
        self.counts = {"run": 0, "run_failed": 0, "restart": 0, "rm": 0, "rm_midstart": 0,
                       "watch_kills": 0, "runs_while_watch_down": 0}
        self.watch = None
        self.watch_gen = 0
        self.watch_down = False
        self.samples = []  # (gen, t, rss_kb, fds, map_fds, map_mmaps)
        self.kinds = {}  # (gen, t) -> fd_kinds() of that sample
        self.loads = []
        self.stop = threading.Event()

    def call(self, args, timeout=120):
        try:
            p = subprocess.run(self.cli + args, capture_output=True, text=True, timeout=timeout)
            return p.returncode, p.stdout.strip(), p.stderr.strip()
        except subprocess.TimeoutExpired:
            return 124, "", "timeout"

    # ---- watch ---------------------------------------------------------
    def watch_start(self):
        a = self.a
        self.watch_gen += 1
        out = open(os.path.join(a.dir, "watch.%d.out" % self.watch_gen), "w")
        err = open(os.path.join(a.dir, "watch.%d.err" % self.watch_gen), "w")
        cmd = [a.egr] + (["--docker-host", a.host] if a.host else []) + [
            "watch", "--strict", "-j", "--unmanaged", "deny", "--guard-cgroup", a.parent]
        cmd += a.watch_args.split() if a.watch_args else []
        self.watch = subprocess.Popen(cmd, stdout=out, stderr=err)
        out.close()
        err.close()
        self.watch_down = False
        diag("watch #%d started (pid %d): %s" % (self.watch_gen, self.watch.pid, " ".join(cmd)))

    def watch_kill(self):
        if self.watch and self.watch.poll() is None:
            self.watch_down = True
            self.watch.send_signal(signal.SIGKILL)
            self.watch.wait()
            self.counts["watch_kills"] += 1
            diag("watch #%d killed with SIGKILL" % self.watch_gen)

    def sampler(self):
        while not self.stop.wait(1.0):
            self.loads.append(float(loadavg()[0]) if loadavg() else 0.0)
            w = self.watch
            if not w or w.poll() is not None:
                continue
            try:
                rss, fds, mfd, mm = proc_sample(w.pid)
                kinds = fd_kinds(w.pid)
            except (OSError, AttributeError):
                continue
            t = time.time()
            self.samples.append((self.watch_gen, t, rss, fds, mfd, mm))
            self.kinds[(self.watch_gen, t)] = kinds

    # ---- containers ----------------------------------------------------
    def cmd_of(self, name):
        rx = self.a.rx
        # the start count survives restarts in the container's own /n
        return ("n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n >/n; "
                "peer tcp-hello %s %d %s.$n -t 5 >/dev/null 2>&1 & "
                "peer tcp-hello %s %d %s.$n -t 20 >/dev/null 2>&1; wait; exec sleep 100000"
                % (rx, DENIED, name, rx, ALLOWED, name))

    def run_one(self, midstart_rm=False):
        with self.lock:
            self.n += 1
            name = "%s-%d" % (self.a.prefix, self.n)
            self.live[name] = 0
            down = self.watch_down
        label = "egressctl.allow=%s tcp:%d" % (self.a.rx, ALLOWED)
        args = ["run", "-d", "--name", name, self.a.policy_flag, label]
        if self.a.mode == "hook":
            # the hook: Docker's through the runtime wrapper, with the
            # labels; Podman gives its hook annotations only
            args += (["--runtime", "egressctl"] if self.a.engine == "docker"
                     else ["--annotation", label])
        args += self.run_args + [self.a.image, "sh", "-c", self.cmd_of(name)]
        if midstart_rm:
            threading.Timer(self.rng.uniform(0.05, 0.6), self.rm_one, args=(name, True)).start()
        t = time.time()
        rc, _, err = self.call(args)
        with self.lock:
            self.counts["run"] += 1
            self.counts["runs_while_watch_down"] += down or self.watch_down
            if rc == 0:
                if name in self.live:
                    self.live[name] += 1
                self.starts.append((name, 1, t, "run"))
            else:
                self.counts["run_failed"] += 1
                if not midstart_rm:
                    diag("run %s failed: %s" % (name, err[-300:]))
                self.starts.append((name, 1, t, "run?"))

    def restart_one(self):
        with self.lock:
            names = [n for n, k in self.live.items() if k > 0]
        if not names:
            return
        name = self.rng.choice(names)
        t = time.time()
        rc, _, _ = self.call(["restart", "-t", "1", name])
        with self.lock:
            if rc == 0 and name in self.live:
                self.counts["restart"] += 1
                self.live[name] += 1
                self.starts.append((name, self.live[name], t, "restart"))

    def rm_one(self, name=None, midstart=False):
        with self.lock:
            if name is None:
                names = [n for n, k in self.live.items() if k > 0]
                if not names:
                    return
                name = self.rng.choice(names)
            self.removed_at[name] = time.time()
        self.call(["rm", "-f", name])
        with self.lock:
            self.counts["rm"] += 1
            self.counts["rm_midstart"] += midstart
            self.live.pop(name, None)

    def batch(self):
        th = []
        for _ in range(self.rng.randint(1, self.a.batch)):
            mid = self.rng.random() < self.a.rm_midstart
            th.append(threading.Thread(target=self.run_one, args=(mid,)))
        for t in th:
            t.start()
            time.sleep(self.rng.uniform(0, 0.05))
        for t in th:
            t.join()

    # ---- the run -------------------------------------------------------
    def churn(self):
        a = self.a
        t0 = time.time()
        end = t0 + a.duration
        kills = sorted(self.rng.uniform(0.15, 0.85) * a.duration for _ in range(a.kills))
        while time.time() < end:
            el = time.time() - t0
            if kills and el >= kills[0]:
                kills.pop(0)
                self.watch_kill()
                # down a while: the guard holds what starts meanwhile
                th = threading.Thread(target=self.batch)
                th.start()
                time.sleep(self.rng.uniform(0.3, 2.5))
                self.watch_start()
                th.join()
                continue
            r = self.rng.random()
            if r < a.p_restart:
                self.restart_one()
            elif r < a.p_restart + a.p_rm:
                self.rm_one()
            else:
                self.batch()
            while len(self.live) > a.max_live:
                self.rm_one()
            time.sleep(self.rng.uniform(0, a.pause))

    def wait_reconciled(self, secs):
        f = os.path.join(self.a.dir, "watch.%d.out" % self.watch_gen)
        for _ in range(secs * 10):
            try:
                if "reconciled" in open(f).read():
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def main(self):
        threading.Thread(target=self.sampler, daemon=True).start()
        self.watch_start()
        if not self.wait_reconciled(60):
            ok("watch starts", False, self.read_all("err"))
            return 1
        self.churn()
        diag("churn done: %s" % json.dumps(self.counts))
        time.sleep(self.a.settle)  # the last starts' connects (20 s)
        self.stop.set()
        self.collect()
        return 0

    def read_all(self, kind, gen=None):
        text = ""
        for g in range(1, self.watch_gen + 1):
            if gen is not None and g != gen:
                continue
            try:
                text += open(os.path.join(self.a.dir, "watch.%d.%s" % (g, kind))).read()
            except OSError:
                pass
        return text

    # ---- results -------------------------------------------------------
    def collect(self):
        a = self.a
        res = {"engine": a.engine, "mode": a.mode, "duration_s": a.duration,
               "counts": self.counts, "containers": self.n, "starts": len(self.starts),
               "loadavg_mean": round(sum(self.loads) / len(self.loads), 2) if self.loads else None}
        arrivals, denied = {}, []
        for line in open(a.recv_log):
            f = line.split()
            if len(f) < 2:
                continue
            if int(f[0]) == DENIED:
                denied.append(line.strip())
                continue
            m = re.match(r"(\S+)\.(\d+)$", f[1])
            if m:
                retrans = int(f[3]) if len(f) > 3 and f[2] == "retrans" else -1
                arrivals[(m.group(1), int(m.group(2)))] = retrans
        ok("zero connections reached the denied port (%d containers, %d starts)"
           % (self.n, len(self.starts)), not denied, "\n".join(denied[:10]))
        res["denied_connections"] = len(denied)
        need, missing, first = 0, [], 0
        restarted = {(n, k - 1): t for n, k, t, how in self.starts if how == "restart"}
        for name, k, t, how in self.starts:
            rm = self.removed_at.get(name)
            got = arrivals.get((name, k))
            if how == "run?" or (rm is not None and rm - t < 25):
                continue  # removed before its connect could finish: not judged
            if got is None and restarted.get((name, k), t + 99) - t < 25:
                continue  # restarted before its connect could finish: not judged
            need += 1
            if got is None:
                missing.append("%s.%d (%s at %.1f)" % (name, k, how, t))
            elif got == 0:
                first += 1
        ok("every allowed connection arrived (%d starts judged)" % need, need and not missing,
           "missing: " + ", ".join(missing[:20]))
        res.update(allowed_judged=need, allowed_missing=len(missing), first_syn=first)
        late = sorted("%s.%d retrans %d" % (n, k, r) for (n, k), r in arrivals.items() if r != 0)
        res.update(arrived=len(arrivals), arrived_retransmitted=len(late))
        if a.mode == "hook":
            ok("hook: every allowed connection got through on its first SYN (%d/%d judged; "
               "of all %d that arrived, %d retransmitted)" % (first, need, len(arrivals), len(late)),
               need and first == need and not late, "\n".join(late[:20]))
        diag("allowed connections through on the first SYN: %d of %d judged; %d of %d arrived"
             % (first, need, len(arrivals) - len(late), len(arrivals)))
        self.enforce_times(res)
        self.json_lines(res)
        self.flat(res)
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)

    def enforce_times(self, res):
        ms, src, recv, in_force = [], set(), [], 0
        for line in self.read_all("out").splitlines():
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if not isinstance(j, dict) or j.get("event") != "start":
                continue
            # mode hook: the hook put the policy in force before the start
            in_force += j.get("message", "").startswith("already in force")
            if "ms" in j and "enforced" in j.get("message", ""):
                ms.append(j["ms"])
                src.add("engine" if "event_time" in j else "received")
                if "received_ms" in j:
                    recv.append(j["received_ms"])
        d = {"n": len(ms), "t0": "/".join(sorted(src)) or None, "already_in_force": in_force}
        diag("watch's start lines: %d enforced, %d found the policy already in force"
             % (len(ms), in_force))
        if ms:
            d.update(p50=pct(ms, 50), p90=pct(ms, 90), p99=pct(ms, 99), max=max(ms), min=min(ms))
            diag("start event -> enforced (t0 %s): n %d, p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, "
                 "max %.0f ms; load average (1 min) mean %s"
                 % (d["t0"], len(ms), d["p50"], d["p90"], d["p99"], d["max"],
                    res["loadavg_mean"]))
        if recv:
            d["received"] = {"p50": pct(recv, 50), "p90": pct(recv, 90), "p99": pct(recv, 99)}
            diag("of which the engine's event -> watch received it: p50 %.0f ms, p90 %.0f ms, "
                 "p99 %.0f ms" % (pct(recv, 50), pct(recv, 90), pct(recv, 99)))
        res["enforce_ms"] = d
        with open(os.path.join(self.a.dir, "enforce_ms.txt"), "w") as f:
            f.write("\n".join("%.1f" % v for v in ms) + "\n")

    def json_lines(self, res):
        bad, repeated, n = [], [], 0
        for g in range(1, self.watch_gen + 1):
            seen = set()
            for kind in ("out", "err"):
                for line in self.read_all(kind, g).splitlines():
                    n += 1
                    try:
                        j = json.loads(line)
                    except ValueError:
                        j = None
                    if not isinstance(j, dict):
                        bad.append(line)
                        continue
                    if j.get("event") == "warning":
                        if j.get("message") in seen:
                            repeated.append(j.get("message"))
                        seen.add(j.get("message"))
        res["non_json_lines"] = len(bad)
        res["repeated_warnings"] = len(repeated)
        ok("watch -j: every line on stdout and stderr is a JSON object (%d lines)" % n,
           not bad, "\n".join(bad[:5]))
        ok("watch -j: each warning once per watch run", not repeated, "\n".join(repeated[:5]))

    def flat(self, res):
        """Per watch run: samples after a warm-up, the last third against
        the middle one, each by its floor (RSS: under 4 MiB more). The first
        third is the rest of the warm-up: measured, a watch's RSS floor steps
        once from 13.2 to 18.0 MB as its first instances load and then stays
        there for 140 samples (18.04 MB at the end). Judged on the runs with
        enough samples."""
        by = {}
        for g, t, rss, fds, mfd, mm in self.samples:
            by.setdefault(g, []).append((t, rss, fds, mfd, mm))
        worst = {"rss_kb": 0, "fds": 0, "map_fds": 0, "map_mmaps": 0}
        worst_run = {}  # key -> the watch run of the worst growth
        judged, longest = 0, None

        def thirds(first, last, i):
            # the floor: what is held between attaches. An attach or a
            # preload under way holds more for a moment: a load of a
            # program instance (libbpf, the kernel's BTF) ~5 MB of RSS,
            # returned after it (malloc_trim), and under churn the pool is
            # refilled back to back, so a median can sit on a plateau of
            # loads in flight (measured: a run's samples alternating
            # between 17.7, 23 and 35 MB, back at 17.9 MB at its end)
            return min(x[i] for x in first), min(x[i] for x in last)
        for g, s in by.items():
            s = [x for x in s if x[0] - s[0][0] >= self.a.warmup]
            if len(s) < 15:
                continue
            judged += 1
            k = len(s) // 3
            first, last = s[k:2 * k], s[-k:]  # the middle third, the last
            if longest is None or s[-1][0] - s[0][0] > longest[1]:
                longest = (g, s[-1][0] - s[0][0], first, last)
            for i, key in ((1, "rss_kb"), (2, "fds"), (3, "map_fds"), (4, "map_mmaps")):
                a, b = thirds(first, last, i)
                if b - a > worst[key]:
                    worst_run[key] = g
                worst[key] = max(worst[key], b - a)
        res["growth"] = worst

        def series(key, i):
            # the samples of the run that grew most, for the diagnosis
            g = worst_run.get(key)
            if g is None:
                return ""
            s = [x for x in by[g] if x[0] - by[g][0][0] >= self.a.warmup]
            lo = min(s, key=lambda x: x[i])
            return ("watch run #%d, %s after the warm-up: %s\nits descriptors at the lowest: %s"
                    "\nat the last sample: %s" % (
                        g, key, " ".join(str(x[i]) for x in s),
                        self.kinds.get((g, lo[0]), "?"), self.kinds.get((g, s[-1][0]), "?")))
        if longest:
            g, span, first, last = longest
            res["longest_watch"] = {"seconds": round(span)}
            for i, key in ((1, "rss_kb"), (2, "fds"), (3, "map_fds"), (4, "map_mmaps")):
                res["longest_watch"][key] = list(thirds(first, last, i))
            diag("longest watch run (#%d, %.0f s), middle third -> last third: %s"
                 % (g, span, json.dumps(res["longest_watch"])))
        ok("watch runs long enough to judge growth (%d)" % judged, judged > 0)
        ok("watch's BPF maps flat (held: %+d, mapped: %+d)" % (worst["map_fds"],
                                                               worst["map_mmaps"]),
           worst["map_fds"] <= 0 and worst["map_mmaps"] <= 0,
           series("map_fds", 3) + "\n" + series("map_mmaps", 4))
        ok("watch's file descriptors flat (%+d)" % worst["fds"], worst["fds"] <= 0,
           series("fds", 2))
        ok("watch's memory flat (RSS, last third vs first: %+d kB)" % worst["rss_kb"],
           worst["rss_kb"] < 4096, series("rss_kb", 1))

    def cleanup(self):
        self.stop.set()
        if self.watch and self.watch.poll() is None:
            self.watch.send_signal(signal.SIGTERM)
            try:
                self.watch.wait(30)
            except subprocess.TimeoutExpired:
                self.watch.kill()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--engine", required=True, choices=["docker", "podman"])
    p.add_argument("--mode", default="watch", choices=["watch", "hook"])
    p.add_argument("--cli", required=True, help="the engine's CLI")
    p.add_argument("--host", default="", help="--docker-host for egressctl")
    p.add_argument("--run-args", default="", help="more `run` arguments (network, parent)")
    p.add_argument("--image", required=True)
    p.add_argument("--egr", required=True)
    p.add_argument("--parent", required=True, help="the containers' parent cgroup (guarded)")
    p.add_argument("--rx", required=True)
    p.add_argument("--recv-log", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--prefix", required=True, help="container names: PREFIX-N")
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--batch", type=int, default=3, help="at most this many runs at once")
    p.add_argument("--kills", type=int, default=2)
    p.add_argument("--max-live", type=int, default=60)
    p.add_argument("--pause", type=float, default=1.0)
    p.add_argument("--p-restart", type=float, default=0.25)
    p.add_argument("--p-rm", type=float, default=0.1)
    p.add_argument("--rm-midstart", type=float, default=0.08)
    p.add_argument("--settle", type=float, default=25)
    p.add_argument("--warmup", type=float, default=10)
    p.add_argument("--watch-args", default="")
    p.add_argument("--policy-flag", default="--label")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    s = Soak(a)
    try:
        rc = s.main()
    finally:
        s.cleanup()
    diag("soak (%s, %s): %d ok, %d not ok" % (a.engine, a.mode, COUNT["pass"], COUNT["fail"]))
    return 1 if rc or COUNT["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
