#!/usr/bin/env python3
"""check_layout.py - the layout rules of README.md "Layout", checked by
`make test`:

  1. every source is in a folder of LEVELS (nothing left in sweep/'s root);
  2. includes only point down: a file may include its own folder or a folder
     of a lower level, never one beside or above it (so trainer/ includes
     only trainer/ and base/);
  3. no call circle between source files: from the built objects (nm), the
     graph "file A calls a function defined in file B" has no cycle.

usage: check_layout.py BUILD_DIR   (run from the repository root)
"""
import os
import re
import subprocess
import sys

# folder -> level; a folder may depend on folders of lower levels only.
LEVELS = {
    "base": 0,
    "trainer": 1,
    "sweep/http": 1,
    "sweep/spec": 2,
    "sweep/offline": 2,
    "sweep/search": 3,
    "sweep/store": 3,
    "sweep/report": 4,
    "sweep/run": 5,
    "sweep/wandb": 6,
    "sweep/commands": 7,
}
SOURCE_ROOTS = ("base", "sweep", "trainer", "include")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path):
    """'sweep/run/x.c' or 'include/sweep/run/x.h' -> 'sweep/run';
    trainer/kernels/ counts as trainer."""
    if path.startswith("include/"):
        path = path[len("include/"):]
    if path.startswith("trainer/"):
        return "trainer"
    return os.path.dirname(path)


def sources():
    for root in SOURCE_ROOTS:
        for d, _, files in os.walk(root):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.join(d, f)


def check_includes(errors):
    n = 0
    for path in sources():
        src = folder_of(path)
        if src not in LEVELS:
            errors.append(f"{path}: folder '{src}' is not in the layout "
                          "(tests/check_layout.py LEVELS, README Layout)")
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if "/" not in inc:     # a private header beside the file
                if not os.path.exists(os.path.join(os.path.dirname(path), inc)):
                    errors.append(f"{path}:{line}: '{inc}' is not beside it")
                continue
            dst = folder_of(inc)
            if dst not in LEVELS:
                errors.append(f"{path}:{line}: includes '{inc}' outside the layout")
                continue
            n += 1
            if dst != src and LEVELS[dst] >= LEVELS[src]:
                errors.append(f"{path}:{line}: includes '{inc}': {src} "
                              f"(level {LEVELS[src]}) may only include folders "
                              f"below it, not {dst} (level {LEVELS[dst]})")
    return n


def check_calls(build, errors):
    objs = []
    for root in ("base", "sweep", "trainer"):
        for d, _, files in os.walk(os.path.join(build, root)):
            objs += [os.path.join(d, f) for f in files if f.endswith(".o")]
    # only objects whose source still exists (the build dir may hold stale ones)
    objs = sorted(o for o in objs
                  if os.path.exists(os.path.relpath(o, build)[:-2] + ".c"))
    if not objs:
        errors.append(f"no objects under {build}: build first")
        return 0
    defs, uses = {}, {}
    for o in objs:
        out = subprocess.run(["nm", o], capture_output=True, text=True,
                             check=True).stdout
        uses[o] = set()
        for ln in out.splitlines():
            p = ln.split()
            if len(p) == 2 and p[0] == "U":
                uses[o].add(p[1])
            elif len(p) == 3 and p[1] in "TDBR":
                defs[p[2]] = o
    graph = {o: sorted({defs[s] for s in uses[o] if defs.get(s, o) != o})
             for o in objs}
    # Tarjan's strongly connected components, iteratively
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    for start in objs:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter[0]
                counter[0] += 1
                stack.append(v)
                on.add(v)
            if i < len(graph[v]):
                work.append((v, i + 1))
                w = graph[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            for w in graph[v]:
                if w in on:
                    low[v] = min(low[v], low[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(comp)
    for comp in comps:
        names = {o: os.path.relpath(o, build)[:-2] + ".c" for o in comp}
        edges = []
        for a in comp:
            for b in graph[a]:
                if b in comp:
                    sym = sorted(s for s in uses[a] if defs.get(s) == b)[0]
                    edges.append(f"{names[a]} -> {names[b]} ({sym})")
        errors.append("call circle: " + "; ".join(edges))
    return len(objs)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    errors = []
    for stray in sorted(os.listdir("sweep")):
        if stray.endswith((".c", ".h")):
            errors.append(f"sweep/{stray}: not in a subsystem folder "
                          "(see README Layout)")
    n_inc = check_includes(errors)
    n_obj = check_calls(sys.argv[1], errors)
    for e in errors:
        print(f"layout: error: {e}")
    if errors:
        sys.exit(1)
    print(f"layout: ok ({n_inc} includes point down, {n_obj} objects, "
          "no call circles)")


if __name__ == "__main__":
    main()
