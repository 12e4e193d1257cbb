# SPDX-License-Identifier: MIT
"""Torture: programs that bring their own allocator or their own unwinder. torture_jemalloc
is linked with -ljemalloc: the hooks forward to jemalloc (sallocx() accepts the program's
blocks), exact figures, jemalloc's own mallocx() uncounted. torture_libunwind walks its
stack with libunwind while the agent walks it too: exact figures, deep stacks both ways.
Each skips, saying so, when its library is not installed (scripts/install-deps.sh)."""
import os
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, expect

env = Env()
N = 1000
if os.path.exists(env.target("torture_jemalloc")):
    proc, rec = same_as_plain(env, [env.target("torture_jemalloc"), str(N)], rec_name="je.hsr")
    check(proc.stdout.startswith(b"jemalloc ") and proc.stdout.endswith(b": ok\n"),
          "jemalloc served the program: %r" % proc.stdout)
    allocs = env.report(rec, "--allocs")
    expect(allocs, "je_work", "malloc through jemalloc", allocator="malloc",
           alloc_calls=N, alloc_bytes=100 * N, free_calls=N, live_bytes=0)
    expect(allocs, "je_work", "calloc through jemalloc", allocator="calloc",
           alloc_calls=N, alloc_bytes=100 * N, free_calls=N)
    expect(allocs, "je_work", "realloc through jemalloc", allocator="realloc",
           alloc_calls=N, alloc_bytes=300 * N, free_calls=N - 1, live_bytes=300)
    expect(allocs, "je_work", "posix_memalign through jemalloc", allocator="posix_memalign",
           alloc_calls=N, alloc_bytes=128 * N, free_calls=N)
    eq(sum(s["alloc_calls"] for s in allocs["stacks"]
           if any(f.get("function") in ("mallocx", "dallocx") for f in s["frames"])), 0,
       "jemalloc's own API is not counted")
else:
    print("skip: torture_jemalloc not built (libjemalloc-dev missing)")

if os.path.exists(env.target("torture_libunwind")):
    proc, rec = same_as_plain(env, [env.target("torture_libunwind"), str(N)],
                              rec_name="uw.hsr")
    eq(proc.stdout, b"libunwind: %d calls, stacks deep enough\n" % N, "libunwind walked")
    allocs = env.report(rec, "--allocs")
    got = expect(allocs, "uw_leaf", "allocations next to unw_backtrace()", allocator="malloc",
                 alloc_calls=2 * N, alloc_bytes=(64 + 32) * N, free_calls=N)
    deep = [s for s in allocs["stacks"] if s["frames"]
            and s["frames"][0]["function"] == "uw_leaf"]
    check(deep and all(sum(f["function"] == "uw_recurse" for f in s["frames"]) == 21
                       for s in deep), "the agent's stacks hold all 21 uw_recurse frames")
else:
    print("skip: torture_libunwind not built (libunwind-dev missing)")
finish(env)
