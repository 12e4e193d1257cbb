# SPDX-License-Identifier: MIT
"""Torture: signals landing anywhere, in the middle of malloc and of the agent's own
bookkeeping, with handlers that allocate, reallocate and free on every signal; four
threads under a storm of SIGUSR1 and a 100 us SIGALRM timer (tests/torture/
torture_signals.c, on an async-signal-safe allocator so the program alone cannot
deadlock). No deadlock, output and status unchanged, the workers' figures exact and
exactly one 11-byte leak per signal the program says it handled. The same under --check
(canaries) and --check=guard, with fewer operations: check mode looked blocks up in the
pointer map outside the bookkeeping, and a handler that interrupted such a lookup waited
for the lock its own thread held (a hang). Then exact again with the allocator reusing the
block freed last at once (TORTURE_BUMP_REUSE=1), as real allocators do: a handler's
realloc whose forgetting waited in the queue let its old block go at once, and the block
another thread got at that address was the one forgotten (leaks lost in 14 of 20 runs
at these 10,000 operations)."""
import re
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, expect

env = Env()
OPS, NW = 50000, 4


def storm(ops, opts, name, env_vars=None):
    proc, rec = same_as_plain(env, [env.target("torture_signals"), str(ops)], opts=opts,
                              rec_name=name, stderr=False, timeout=240, env_vars=env_vars)
    m = re.search(rb"^handled (\d+)$", proc.stderr, re.M)
    if not check(m, "%s: the program says how many signals it handled" % name):
        return
    handled = int(m.group(1))
    check(handled > 0, "%s: signals handled: %d" % (name, handled))
    allocs = env.report(rec, "--allocs")
    expect(allocs, "work_malloc", name + ": worker mallocs", alloc_calls=ops * NW,
           free_calls=ops * NW, alloc_bytes=sum(16 + i % 100 for i in range(ops)) * NW)
    expect(allocs, "work_calloc", name + ": worker callocs", alloc_calls=ops * NW,
           free_calls=ops * NW, alloc_bytes=sum((1 + i % 10) * 8 for i in range(ops)) * NW)
    expect(allocs, "work_realloc", name + ": worker reallocs", alloc_calls=ops * NW,
           free_calls=ops * NW, alloc_bytes=sum(200 + i % 50 for i in range(ops)) * NW)
    expect(allocs, "sig_churn", name + ": handler's malloc", allocator="malloc",
           alloc_calls=handled, free_calls=handled, alloc_bytes=33 * handled)
    expect(allocs, "sig_churn", name + ": handler's realloc", allocator="realloc",
           alloc_calls=handled, free_calls=handled, alloc_bytes=66 * handled)
    expect(env.report(rec, "--leaks"), "sig_leak", name + ": one leak per signal",
           live_blocks=handled, live_bytes=11 * handled)


storm(OPS, (), "exact.hsr")
storm(10000, ("--check", "--leak-check=none"), "check.hsr")
storm(10000, ("--check=guard", "--leak-check=none"), "guard.hsr")
storm(10000, (), "reuse.hsr", {"TORTURE_BUMP_REUSE": "1"})
finish(env)
