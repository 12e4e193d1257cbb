# SPDX-License-Identifier: MIT
"""Frames of a library unloaded with dlclose still name that library when another library
is later loaded at the same address (tests/torture/torture_dlopen.c: 300 cycles of
libtorture_dl.so, then libtorture_deep.so, which the loader maps where libtorture_dl.so
was). Known to fail as of this writing: such frames resolve against the newer library
(docs/ROBUSTNESS.md, "Known problems")."""
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, figures

env = Env()
CYCLES, DEEP = 300, 50
proc, rec = same_as_plain(env, [env.target("torture_dlopen"), env.targets, str(CYCLES),
                                str(DEEP)])
allocs = env.report(rec, "--allocs")
eq(figures(allocs, "dl_inner")["alloc_calls"], 2 * CYCLES, "dl_inner's calls, by name")
bad = sorted(set(f.get("function") for s in allocs["stacks"] for f in s["frames"]
                 if (f.get("module") or "").endswith("libtorture_deep.so")))
eq(bad, [], "no frame of the program's stacks attributed to libtorture_deep.so")
finish(env)
