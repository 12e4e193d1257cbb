# SPDX-License-Identifier: MIT
"""Torture: C++ exceptions thrown through frames that hold allocations (unwinding frees
them), and operator new failing with bad_alloc and nothrow new returning null
(tests/torture/torture_exceptions.cpp): output and status unchanged, every block freed
by unwinding counted freed, exact leaks, failed allocations not counted."""
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, expect, figures

env = Env()
N, DEPTH, BAD = 5000, 8, 100
proc, rec = same_as_plain(env, [env.target("torture_exceptions"), str(N)])
eq(proc.stdout, b"exceptions: %d thrown, %d bad_alloc, %d null\n" % (N, BAD, BAD), "output")
allocs = env.report(rec, "--allocs")
expect(allocs, "ex_block", "blocks freed by unwinding", alloc_calls=N * DEPTH,
       free_calls=N * DEPTH, alloc_bytes=64 * N * DEPTH, live_bytes=0)
expect(allocs, "ex_catch_leak", "leak made in a catch block", alloc_calls=N // 100,
       live_blocks=N // 100, live_bytes=12 * (N // 100))
for fn in ("ex_huge", "ex_huge_nothrow"):
    eq(figures(allocs, fn)["alloc_calls"], 0, fn + ": failed operator new is not a call")
thrown = [s for s in allocs["stacks"]
          if any(f.get("function") == "__cxa_allocate_exception" for f in s["frames"])]
check(thrown, "the exception objects' allocations are seen")
eq(sum(s["live_blocks"] for s in thrown), 0, "and every exception object freed")
finish(env)
