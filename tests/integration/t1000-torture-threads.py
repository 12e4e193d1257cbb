# SPDX-License-Identifier: MIT
"""Torture: 64 threads in 4 waves of 16, allocating, reallocating and freeing each other's
blocks (tests/torture/torture_threads.c): output and status unchanged, every figure exact.
Then sampled at a small interval, so that the hooks' fast path, the filter of sampled
addresses and frees from other threads meet on most calls: output and status unchanged,
every freed sample point found freed (live exactly 0), the call estimate close."""
from hstest import Env, check, eq, finish
from hstorture import same_as_plain, expect, figures

env = Env()
OPS, THREADS = 20000, 4 * 16
proc, rec = same_as_plain(env, [env.target("torture_threads"), str(OPS)])
allocs = env.report(rec, "--allocs")
expect(allocs, "mt_alloc", "blocks allocated by one thread, freed by another",
       alloc_calls=OPS * THREADS, free_calls=OPS * THREADS, live_bytes=0,
       alloc_bytes=sum(8 + (k % 13) * 8 for k in range(OPS)) * THREADS)
expect(allocs, "mt_grow", "realloc of another thread's block",
       alloc_calls=OPS // 2 * THREADS, free_calls=OPS // 2 * THREADS,
       alloc_bytes=sum(200 + (k % 5) * 8 for k in range(0, OPS, 2)) * THREADS)
expect(env.report(rec, "--leaks"), "mt_leak", "one leak per thread", allocator="calloc",
       live_blocks=THREADS, live_bytes=40 * THREADS)

proc, srec = same_as_plain(env, [env.target("torture_threads"), str(OPS)],
                           opts=("--sample", "256"), rec_name="sampled.hsr")
sampled = env.report(srec, "--allocs")
for fn in ("mt_alloc", "mt_grow"):
    got = figures(sampled, fn)
    check(got["alloc_calls"] > 0, "sampled: %s has sample points" % fn)
    eq((got["live_bytes"], got["live_blocks"]), (0, 0),
       "sampled: every freed sample point of %s found freed" % fn)
calls = figures(sampled, "mt_alloc")["alloc_calls"]
check(abs(calls - OPS * THREADS) < 0.05 * OPS * THREADS,
      "sampled: mt_alloc's call estimate %d within 5%% of %d" % (calls, OPS * THREADS))
finish(env)
