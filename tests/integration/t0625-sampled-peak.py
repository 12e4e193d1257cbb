# SPDX-License-Identifier: MIT
"""The peak under sampling is not the highest of noisy readings. sample_steady keeps a
heap of about 8.4 MB level while 1,000,000 blocks churn through it; its exact peak is
known from its size generator. Sampled at 64 KiB, the running maximum of the sampled
estimate lands about 28% above it (measured with an earlier agent: +29%, +22%, +29%,
+30%, +22%, +26%); with the peak moment chosen by one half of the samples and the figures
taken from the other half, the mean error of 24 runs must lie within 15% of it (measured
over 60 runs of this agent: +0.6% mean, 12.8% standard deviation per run, so 2.6% for the
mean of 24; an earlier agent's 24 runs: -5.7% mean).
Every run's per-stack figures at the peak add up to its heap peak.
Each sampled figure comes with its 95% margin (1.96 sqrt(I (B + I)), I twice the interval for
peak figures: 2.1 MB here, 24%); exact figures have none. The margin is checked as a
statement about the error's spread, with random seeds as users get them, so that the test
fails by chance far less often than once in 10,000 runs:
- z = error / (margin / 1.96) is about standard normal: over 60 runs the mean of z^2 was
  1.00. The sum of z^2 over 24 runs must lie within chi-square(24)'s 1e-5 tails (5 .. 65):
  a margin 1.6 times too narrow, or 2.2 times too wide, fails;
- the exact peak lies within the stated margin in at least 16 of the 24 runs (a run
  missed in 4 of 60: at 7% a run, 9 misses or more have a chance of 2e-5).
(One run in eight missing, as in a CI run where 3 of 8 did, is within chance: the test
asked for 6 of 8 before and failed about once in 70 runs.)"""
import math
import statistics
from hstest import Env, eq, check, stacks_at, sum_field, finish

STEPS = 1000000
M = (1 << 64) - 1


def exact_peak():
    """The heap's peak, replayed from the program's own size generator."""
    x = 42

    def nxt():
        nonlocal x
        x = (x * 6364136223846793005 + 1442695040888963407) & M
        return 16 + (x >> 33) % 4081
    ring = [nxt() for _ in range(4096)]
    live = peak = sum(ring)
    for s in range(STEPS):
        i = s % 4096
        live -= ring[i]
        ring[i] = nxt()
        live += ring[i]
        peak = max(peak, live)
    return peak


env = Env()
prog = [env.target("sample_steady"), str(STEPS)]
want = exact_peak()
proc, exact = env.run(prog, rec_name="exact.hsr")
eq(proc.stdout, b"sample_steady done %d 0\n" % STEPS, "output, exact")
ex = env.report(exact, "--peak")
eq(ex["summary"]["peak_bytes"], want, "exact peak as replayed")
eq(sum_field(stacks_at(ex, "ring"), "peak_bytes"), want, "exact: ring() holds it all")
check("peak_bytes_margin" not in ex["summary"] and
      not any("peak_bytes_margin" in s for s in ex["stacks"]), "exact figures carry no margin")


def margin(b, interval):
    return round(1.96 * math.sqrt(interval * (b + interval)))


RUNS = 24
errors, zs, within = [], [], 0
for i in range(RUNS):
    proc, sampled = env.run(prog, rec_name="s%d.hsr" % i, opts=["--sample", "64k"])
    eq(proc.stdout, b"sample_steady done %d 0\n" % STEPS, "output, sampled run %d" % i)
    sa = env.report(sampled, "--peak")
    got = sa["summary"]["peak_bytes"]
    check(got > 0, "sampled run %d has a peak" % i)
    stacks = sum(s["peak_bytes"] for s in sa["stacks"])
    check(abs(stacks - got) <= 2 * 65536,
          "run %d: stacks at the peak add up to the peak (%d vs %d)" % (i, stacks, got))
    errors.append(got / want - 1)
    m = sa["summary"].get("peak_bytes_margin")
    check(m is not None and abs(m - margin(got, 2 * 65536)) <= 1,
          "run %d: the peak's margin %s is 1.96 sqrt(I (B + I)) at twice the interval" % (i, m))
    for s in sa["stacks"]:
        check(abs(s.get("peak_bytes_margin", -9) - margin(s["peak_bytes"], 2 * 65536)) <= 1,
              "run %d: a stack's peak margin" % i)
    within += m is not None and abs(got - want) <= m
    if m:
        zs.append((got - want) / (m / 1.96))
runs = ", ".join("%+.1f%%" % (100 * e) for e in errors)
z2 = sum(z * z for z in zs)
check(len(zs) == RUNS and 5 <= z2 <= 65,
      "sum of z^2 %.1f over %d runs within chi-square(%d)'s 1e-5 tails 5 .. 65 (z: %s)" %
      (z2, len(zs), RUNS, ", ".join("%+.2f" % z for z in zs)))
check(within >= 16, "the exact peak within the stated margin in %d of %d runs (runs: %s)" %
      (within, RUNS, runs))
mean = statistics.mean(errors)
check(abs(mean) <= 0.15, "mean error of the sampled peak %.1f%% within 15%% (runs: %s)" %
      (100 * mean, runs))
finish(env)
