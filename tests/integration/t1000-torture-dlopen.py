# SPDX-License-Identifier: MIT
"""Torture: 300 dlopen/dlclose cycles of a library that allocates, its blocks freed or kept
after the library is gone; and an RTLD_DEEPBIND library whose malloc and free bind to the
C library past the agent (tests/torture/torture_dlopen.c). Output and status unchanged;
exact figures for the cycled library, its frames symbolized after dlclose. The DEEPBIND
library's own calls are invisible to any LD_PRELOAD profiler: its blocks freed through
the hooked free pass through untouched, and the program's blocks it frees are seen freed
only when malloc hands their address out again (alloc = free + live, exactly). Then
failed dlopens with hooked calls between each and the program's dlerror(), and dlclose
after dlerror() made its message, exact, sampled and under --check: the program keeps its
messages (the hooks looked their next definitions up at the agent's start, not with a
dlsym that resets dlerror), and check mode survives the C library freeing the message
inside the agent's hook (it crashed, SIGSEGV, in the exit's leak scan). Sampled once more
with a 512 MiB block between the first failure and its dlerror(), the main thread's first
sample point: registering the thread there looked a symbol up with dlsym, which cleared the
message (19 of 20 kept), and where such a point fell inside dlerror()'s own allocations,
freed the C library's pending result under it: glibc's heap corrupted, SIGSEGV in a later
dlopen, in about 3% of the runs with --sample 4k."""
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, expect, figures

env = Env()
CYCLES, DEEP = 300, 50
KEPT = len(range(0, CYCLES, 10))
prog = env.target("torture_dlopen")

proc, rec = same_as_plain(env, [prog, env.targets, str(CYCLES), "0"], rec_name="cycles.hsr")
eq(proc.stdout, b"dlopen done: %d cycles, %d kept, 0 deep\n" % (CYCLES, KEPT), "output")
allocs = env.report(rec, "--allocs")
expect(allocs, "dl_inner", "inside the unloaded library",
       alloc_calls=2 * CYCLES, alloc_bytes=(16 + 48) * CYCLES,
       live_blocks=KEPT, live_bytes=48 * KEPT)
expect(allocs, "dl_work", "calloc inside the library", allocator="calloc",
       alloc_calls=CYCLES, free_calls=CYCLES, alloc_bytes=32 * CYCLES)
mods = set()
for s in allocs["stacks"]:
    if s["frames"] and s["frames"][0]["function"] == "dl_inner":
        mods.add(s["frames"][0].get("module") or "")
        eq(s["frames"][1]["function"], "dl_work", "dl_inner's caller symbolized after dlclose")
check(mods and all(m.endswith("libtorture_dl.so") for m in mods), "module named: %s" % mods)

proc, rec = same_as_plain(env, [prog, env.targets, "0", str(DEEP)], rec_name="deep.hsr")
eq(proc.stdout, b"dlopen done: 0 cycles, 0 kept, %d deep\n" % DEEP, "output")
allocs = env.report(rec, "--allocs")
got = expect(allocs, "deep_block", "freed behind the agent's back", alloc_calls=DEEP,
             alloc_bytes=24 * DEEP)
eq(got["free_calls"] + got["live_blocks"], DEEP, "each such block freed or live, once")
eq([s["alloc_calls"] for s in allocs["stacks"]
    if any(f.get("function") == "deep_alloc" for f in s["frames"])], [],
   "the DEEPBIND library's own (libc) blocks are not recorded")
ERRORS = 20
for opts, big in (((), 0), (("--sample", "4k"), 0), (("--check",), 0),
                  (("--sample", "16M"), 512)):
    name = "errors%s.hsr" % "".join(o.strip("-") for o in opts)
    proc, rec = same_as_plain(env, [prog, env.targets, "0", "0", str(ERRORS), str(big)],
                              opts=opts, rec_name=name)
    eq(proc.stdout, b"dlopen done: 0 cycles, 0 kept, 0 deep\n"
       b"dlerror kept its message %d of %d times\n" % (ERRORS, ERRORS),
       "dlerror's messages kept %s" % " ".join(opts))
    allocs = env.report(rec, "--allocs")
    check(allocs["stacks"], "a recording with stacks %s" % " ".join(opts))
finish(env)
