# SPDX-License-Identifier: MIT
"""Every C allocation function, exact figures per function, output and exit status unchanged."""
from hstest import Env, eq, check, stacks_at, sum_field, finish

env = Env()
prog = [env.target("hooks_c")]
plain = env.plain(prog)
proc, rec = env.run(prog)
eq(proc.returncode, plain.returncode, "exit status passed through")
eq(proc.returncode, 7, "exit status")
eq(proc.stdout, plain.stdout, "program stdout unchanged")

leaks = env.report(rec, "--leaks")
expected = {
    "leak_malloc": ("malloc", 100),
    "leak_calloc": ("calloc", 200),
    "leak_realloc": ("realloc", 300),
    "leak_reallocarray": ("reallocarray", 400),
    "leak_memalign": ("memalign", 500),
    "leak_posix_memalign": ("posix_memalign", 600),
    "leak_aligned_alloc": ("aligned_alloc", 704),
    "leak_valloc": ("valloc", 800),
    "leak_pvalloc": ("pvalloc", 900),
}
for fn, (allocator, size) in expected.items():
    st = stacks_at(leaks, fn)
    if check(len(st) == 1, "one leak stack in %s (got %d)" % (fn, len(st))):
        eq(st[0]["allocator"], allocator, fn + " allocator")
        eq(st[0]["live_bytes"], size, fn + " leaked bytes")
        eq(st[0]["live_blocks"], 1, fn + " leaked blocks")
        eq(st[0]["frames"][1]["function"], "main", fn + " caller")
        check(st[0]["frames"][0]["file"] and st[0]["frames"][0]["file"].endswith("hooks_c.c"),
              fn + " file is hooks_c.c")
        check(st[0]["frames"][0]["line"], fn + " has a line")

# leak_realloc's first malloc(10) was freed by realloc: no leak from that malloc.
allocs = env.report(rec, "--allocs")
rl = [s for s in stacks_at(allocs, "leak_realloc") if s["allocator"] == "malloc"]
if check(len(rl) == 1, "malloc stack in leak_realloc"):
    eq((rl[0]["alloc_calls"], rl[0]["free_calls"], rl[0]["live_bytes"]), (1, 1, 0),
       "realloc freed the old block")

tmp = stacks_at(env.report(rec, "--temporary"), "make_temporaries")
if check(len(tmp) == 1, "temporary stack"):
    eq((tmp[0]["alloc_calls"], tmp[0]["temporary"], tmp[0]["alloc_bytes"]), (10, 10, 500),
       "make_temporaries calls/temporary/bytes")

fl = stacks_at(allocs, "freed_later")
eq(sorted((s["alloc_bytes"], s["free_calls"], s["temporary"]) for s in fl),
   [(1000, 1, 0), (2000, 1, 1)], "freed_later: b (freed first) is temporary, a is not")

peak = env.report(rec, "--peak")
top = peak["stacks"][0]
eq(top["frames"][0]["function"], "hold_peak", "function holding the peak")
eq(top["peak_bytes"], 2000000, "hold_peak bytes at peak")
leaked_before_peak = sum(v[1] for v in expected.values())
summary = peak["summary"]
# Other allocations may exist (stdio buffers come after the peak); the peak holds
# hold_peak's block plus every leak made before it, plus whatever libc held then.
check(summary["peak_bytes"] >= 2000000 + leaked_before_peak,
      "peak_bytes %d >= %d" % (summary["peak_bytes"], 2000000 + leaked_before_peak))
program_peak = sum(s["peak_bytes"] for s in peak["stacks"])
eq(program_peak, summary["peak_bytes"], "per-stack peak bytes add up to the peak")
for fn, (allocator, size) in expected.items():
    st = stacks_at(peak, fn)
    eq(sum_field(st, "peak_bytes"), size, fn + " held at peak")

# Totals: every hooked call of the program and nothing twice.
own = [s for s in allocs["stacks"] if s["frames"] and s["frames"][0]["function"] in
       set(expected) | {"make_temporaries", "hold_peak", "freed_later"}]
eq(sum_field(own, "alloc_calls"), 9 + 1 + 10 + 1 + 2, "program's allocation calls")
finish(env)
