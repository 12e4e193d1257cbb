# SPDX-License-Identifier: MIT
"""Walks on stacks other than the thread's (docs/UNWIND.md, "Other stacks"): a makecontext
coroutine's allocations carry the coroutine's frames (co_leaf, co_mid, co_body), and a
SIGUSR1 handler's on a sigaltstack the handler's; exact figures, with the DWARF and the
frame-pointer unwinder and under --check. With HEAPSCOPE_OTHER_STACKS=0 such walks keep
the thread's bounds and give their first frame only, as before."""
import os
from hstest import Env, eq, finish

env = Env()
prog = [env.target("other_stacks")]
OUT = b"other stacks: 1000 turns, 110 kept\n"


def stack_of(rep, leaf):
    st = [s for s in rep["stacks"] if s["frames"] and s["frames"][0]["function"] == leaf]
    eq(len(st), 1, "one stack allocating in %s" % leaf)
    return st[0] if st else {"frames": []}


for name, opts in (("cfi", ()), ("fp", ("--unwind", "fp")), ("check", ("--check",))):
    proc, rec = env.run(prog, opts=("--no-summary",) + opts, rec_name=name + ".hsr")
    eq((proc.returncode, proc.stdout), (0, OUT), name + ": output")
    rep = env.report(rec, "--allocs")
    co = stack_of(rep, "co_leaf")
    eq([f["function"] for f in co["frames"][:3]], ["co_leaf", "co_mid", "co_body"],
       name + ": the coroutine's frames")
    eq((co.get("alloc_calls"), co.get("alloc_bytes"), co.get("live_blocks")),
       (1000, 48000, 100), name + ": the coroutine's figures")
    alt = stack_of(rep, "alt_leaf")
    eq([f["function"] for f in alt["frames"][:2]], ["alt_leaf", "alt_handler"],
       name + ": the sigaltstack handler's frames")
    eq((alt.get("alloc_calls"), alt.get("live_blocks")), (10, 10),
       name + ": the handler's figures")

env_off = dict(os.environ, HEAPSCOPE_OTHER_STACKS="0")
proc, rec = env.run(prog, opts=("--no-summary",), rec_name="off.hsr", env=env_off)
eq((proc.returncode, proc.stdout), (0, OUT), "off: output")
rep = env.report(rec, "--allocs")
eq([f["function"] for f in stack_of(rep, "co_leaf")["frames"]], ["co_leaf"],
   "off: the coroutine's first frame only")
finish(env)
