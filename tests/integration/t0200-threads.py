# SPDX-License-Identifier: MIT
"""8 threads, cross-thread frees, millions of operations: exact totals, every time."""
from hstest import Env, eq, check, stacks_at, sum_field, finish

env = Env()
OPS = 250000
prog = [env.target("stress_mt"), str(OPS)]
for run in range(3):
    proc, rec = env.run(prog, rec_name="mt%d.hsr" % run, timeout=240)
    eq(proc.returncode, 0, "run %d exit status" % run)
    eq(proc.stdout, b"stress done: %d ops\n" % (OPS * 8), "run %d output" % run)
    allocs = env.report(rec, "--allocs")
    blocks = stacks_at(allocs, "alloc_block")
    eq(sum_field(blocks, "alloc_calls"), OPS * 8, "run %d alloc_block calls" % run)
    eq(sum_field(blocks, "free_calls"), OPS * 8, "run %d alloc_block frees" % run)
    size = sum(16 + (i % 7) * 16 for i in range(OPS)) * 8
    eq(sum_field(blocks, "alloc_bytes"), size, "run %d alloc_block bytes" % run)
    eq(sum_field(blocks, "live_bytes"), 0, "run %d nothing left" % run)
    leaks = stacks_at(env.report(rec, "--leaks"), "leak_some")
    eq(sum_field(leaks, "live_blocks"), 24, "run %d leak_some blocks" % run)
    eq(sum_field(leaks, "live_bytes"), 24 * 24, "run %d leak_some bytes" % run)
    eq(set(s["frames"][1]["function"] for s in leaks), {"worker"}, "leak_some called by worker")
finish(env)
