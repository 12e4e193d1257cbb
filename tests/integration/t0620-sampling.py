# SPDX-License-Identifier: MIT
"""Sampling (Poisson by bytes): estimates of allocated and peak bytes per top stack land
within 5% of the exact figures, and the recording says its figures are estimates."""
from hstest import Env, eq, check, stacks_at, sum_field, finish

env = Env()
prog = [env.target("sample_mix")]
proc, exact = env.run(prog, rec_name="exact.hsr")
eq(proc.stdout, b"sample_mix done 960000\n", "output, exact")
proc, sampled = env.run(prog, rec_name="sampled.hsr", env=None,
                        opts=["--sample", "4k"])
eq(proc.stdout, b"sample_mix done 960000\n", "output, sampled")

ex = env.report(exact, "--peak")
sa = env.report(sampled, "--peak")
eq(ex["recording"]["sample_interval"], 0, "exact recording")
eq(sa["recording"]["sample_interval"], 4096, "sampled recording says so")
for fn, bytes_ in (("keep_small", 80000 * 1000), ("keep_large", 2000 * 30000)):
    e = sum_field(stacks_at(ex, fn), "peak_bytes")
    s = sum_field(stacks_at(sa, fn), "peak_bytes")
    eq(e, bytes_, fn + " exact bytes at the peak")
    check(abs(s - e) <= 0.05 * e, "%s sampled peak bytes %d within 5%% of %d (%.2f%%)" %
          (fn, s, e, 100.0 * (s - e) / e))
    e = sum_field(stacks_at(ex, fn), "alloc_bytes")
    s = sum_field(stacks_at(sa, fn), "alloc_bytes")
    check(abs(s - e) <= 0.05 * e, "%s sampled allocated bytes %d within 5%% of %d" % (fn, s, e))
e = ex["summary"]["peak_bytes"]
s = sa["summary"]["peak_bytes"]
check(abs(s - e) <= 0.05 * e, "sampled peak %d within 5%% of exact %d" % (s, e))
exa, saa = env.report(exact, "--allocs"), env.report(sampled, "--allocs")
ech = sum_field(stacks_at(exa, "churn"), "alloc_calls")
sch = sum_field(stacks_at(saa, "churn"), "alloc_calls")
eq(ech, 960000, "churn calls, exact")
check(abs(sch - ech) <= 0.05 * ech, "churn calls estimated %d within 5%% of %d" % (sch, ech))
# a block at one address again and again, 1/p = 1.5 at 4 KiB: its calls were once rounded
# by a hash of the address, the same way each time it came back there (the agent before:
# 5,437-9,003 for 8,000 in four runs)
ere = sum_field(stacks_at(exa, "reuse"), "alloc_calls")
sre = sum_field(stacks_at(saa, "reuse"), "alloc_calls")
eq(ere, 8000, "reuse calls, exact")
check(abs(sre - ere) <= 0.05 * ere, "reuse calls estimated %d within 5%% of %d" % (sre, ere))
# temporary under sampling: a block freed before its thread allocated again, skipped
# allocations included (64 KiB blocks at 4 KiB are sampled nearly always: 1/p = 1.0000001)
eq(sum_field(stacks_at(exa, "temp_big"), "temporary"), 1000, "temp_big temporary, exact")
eq(sum_field(stacks_at(exa, "kept_big"), "temporary"), 0, "kept_big temporary, exact")
st = sum_field(stacks_at(saa, "temp_big"), "temporary")
check(abs(st - 1000) <= 50, "temp_big temporary estimated %d within 5%% of 1000" % st)
eq(sum_field(stacks_at(saa, "kept_big"), "temporary"), 0,
   "kept_big not temporary, sampled (a skipped allocation came between)")
finish(env)
