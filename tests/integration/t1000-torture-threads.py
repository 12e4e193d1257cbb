# SPDX-License-Identifier: MIT
"""Torture: 64 threads in 4 waves of 16, allocating, reallocating and freeing each other's
blocks (tests/torture/torture_threads.c): output and status unchanged, every figure exact."""
from hstest import Env, finish
from hstorture import same_as_plain, expect

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
finish(env)
