#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Check the layering of egressctl's userspace objects (README, "Layout").

usage: tools/check-layers.py [-v] [--binary BIN --test-objs OBJ...] BUILD_DIR

Reads `nm` of every object under BUILD_DIR/user/<layer>/ and draws an arrow
from an object to the object that defines a symbol it leaves undefined.
Fails (exit 1), naming what is wrong, when
  - the arrows make a cycle (any two objects that need each other);
  - an arrow goes from a layer to a higher one (LAYERS, top first);
  - an object outside the CLI layer prints (PRINTING: library code returns
    -errno and a message, the CLI prints it; util/log.o is the printer);
  - with --binary, the shipped binary defines a symbol of the test oracles.
-v also prints the graph, one object with its arrows a line.
"""
import os
import subprocess
import sys

# Top first: an object may only need objects of its own layer or below.
LAYERS = ["cli", "ops", "obs", "runtime", "kernel", "policy", "util"]

# Symbols that only the CLI layer (and the logging module) may use: they
# write to the terminal or end the process. pr_err/pr_warn are log_msg();
# pr_info/pr_debug (log_trace()) stay allowed everywhere, for -v tracing.
PRINTING = {"stdout", "stderr", "printf", "puts", "putchar", "perror", "vprintf",
            "log_msg", "exit", "_exit", "abort"}
PRINTERS = {"cli", "util/log"}


def nm(path, *flags):
    out = subprocess.run(["nm", "-P", *flags, path], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2:
            yield f[0], f[1]


def objects(build):
    root = os.path.join(build, "user")
    found = []
    for layer in LAYERS:
        d = os.path.join(root, layer)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".o"):
                found.append((layer + "/" + name[:-2], os.path.join(d, name)))
    stray = [os.path.join(dp, n) for dp, _, ns in os.walk(root) for n in ns
             if n.endswith(".o") and os.path.relpath(dp, root).split(os.sep)[0] not in LAYERS]
    return found, stray


def graph(objs):
    defs, undefs = {}, {}
    for name, path in objs:
        undefs[name] = set()
        for sym, kind in nm(path):
            if kind == "U":
                undefs[name].add(sym)
            elif kind in "TDBRCVWG" and kind.isupper():
                defs.setdefault(sym, name)
    edges = {name: set() for name, _ in objs}
    for name, syms in undefs.items():
        for sym in syms:
            to = defs.get(sym)
            if to and to != name:
                edges[name].add(to)
    return edges, undefs


def cycles(edges):
    """Strongly connected components of more than one object (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def one_cycle(edges, comp):
    """A path a -> ... -> a through the component, for the message."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def main(argv):
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    binary, test_objs = None, []
    if "--binary" in argv:
        i = argv.index("--binary")
        binary = argv[i + 1]
        del argv[i:i + 2]
    if "--test-objs" in argv:
        i = argv.index("--test-objs")
        test_objs = [a for a in argv[i + 1:] if a.endswith(".o")]
        argv = argv[:i] + [a for a in argv[i + 1:] if not a.endswith(".o")]
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    objs, stray = objects(argv[0])
    if not objs:
        print("check-layers: no objects under %s/user/" % argv[0], file=sys.stderr)
        return 2
    edges, undefs = graph(objs)
    rank = {l: i for i, l in enumerate(LAYERS)}
    errors = []
    for path in stray:
        errors.append("%s: not in a layer folder (%s)" % (path, " ".join(LAYERS)))
    for comp in cycles(edges):
        errors.append("cycle of %d objects (%s), e.g. %s" %
                      (len(comp), " ".join(comp), " -> ".join(one_cycle(edges, comp))))
    for a in sorted(edges):
        for b in sorted(edges[a]):
            la, lb = a.split("/")[0], b.split("/")[0]
            if rank[lb] < rank[la]:
                errors.append("upward: %s (layer %s) needs %s (layer %s)" % (a, la, b, lb))
    for a in sorted(undefs):
        if a.split("/")[0] in PRINTERS or a in PRINTERS:
            continue
        bad = sorted(undefs[a] & PRINTING)
        if bad:
            errors.append("prints: %s uses %s (only the CLI layer prints)" % (a, ", ".join(bad)))
    if binary:
        shipped = {s for s, k in nm(binary, "--defined-only")}
        for o in test_objs:
            for sym, kind in nm(o, "--defined-only"):
                if kind.isupper() and sym in shipped:
                    errors.append("%s: defines %s of the test oracle %s" % (binary, sym, o))
    if verbose:
        for a in sorted(edges, key=lambda n: (rank[n.split("/")[0]], n)):
            print("%-24s -> %s" % (a, " ".join(sorted(edges[a])) or "-"))
    for e in errors:
        print("check-layers: " + e, file=sys.stderr)
    narrows = sum(len(v) for v in edges.values())
    print("check-layers: %d objects in %d layers, %d arrows, %s" %
          (len(objs), len({n.split("/")[0] for n in edges}), narrows,
           "%d problem%s" % (len(errors), "" if len(errors) == 1 else "s") if errors else
           "no cycle, every arrow downward"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
