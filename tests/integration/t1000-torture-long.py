# SPDX-License-Identifier: MIT
"""Torture: a program that runs for a while (20 s here, for CI; it stands in for programs
that run for minutes) with periodic snapshots every second and autosaves
(tests/torture/torture_long.c). Output and status unchanged; the snapshots' counters
never decrease and never pass the final ones; the final figures are exact."""
import os
from hstest import Env, eq, check, finish
from hstorture import expect

env = Env()
ITER, MS = 200, 100
# Its output is known: no 20-second plain run to compare with.
proc, rec = env.run([env.target("torture_long"), str(ITER), str(MS)], opts=["--no-summary"],
                    env=dict(os.environ, HEAPSCOPE_INTERVAL="1s"), timeout=240)
eq((proc.returncode, proc.stdout), (0, b"long done %d\n" % ITER), "exit status and output")
eq([l for l in proc.stderr.splitlines() if not l.startswith(b"heapscope:")], [],
   "nothing else on stderr")
allocs = env.report(rec, "--allocs")
expect(allocs, "long_work", "steady churn", alloc_calls=100 * ITER, free_calls=100 * ITER,
       alloc_bytes=sum(100 + k for k in range(100)) * ITER, live_bytes=0)
expect(allocs, "long_leak", "slow leak", alloc_calls=ITER // 10, live_bytes=1000 * (ITER // 10))
snaps = allocs.get("snapshots", [])
periodic = [s for s in snaps if s["reason"] == "periodic"]
check(len(periodic) >= 2, "periodic snapshots along the way (%d)" % len(periodic))
calls = [s["alloc_calls"] for s in snaps]
eq(calls, sorted(calls), "cumulative allocation calls never decrease")
check(all(c <= allocs["summary"]["alloc_calls"] for c in calls),
      "no snapshot counts more than the end")
eq(snaps[-1]["reason"] if snaps else None, "exit", "the last snapshot is the exit's")
finish(env)
