# SPDX-License-Identifier: MIT
"""Call stacks: exact frames through code without frame pointers and through libc, the
depth limit, and the frame-pointer unwinder as an option."""
from hstest import Env, eq, check, stacks_at, finish

env = Env()
prog = [env.target("deep_nofp")]


def frames_of(rep, size):
    st = [s for s in rep["stacks"] if s["alloc_bytes"] == size]
    if not check(len(st) == 1, "one stack allocating %d bytes" % size):
        return []
    return [f["function"] for f in st[0]["frames"]]


proc, rec = env.run(prog)
eq(proc.stdout, b"deep done 3\n", "output")
rep = env.report(rec, "--allocs")

chain = frames_of(rep, 5000)
eq(chain[:6], ["level5", "level4", "level3", "level2", "level1", "main"],
   "chain without frame pointers")
check("__libc_start_call_main" in chain or "__libc_start_main" in chain,
      "the walk reaches libc's start: %s" % chain[6:])

sort = frames_of(rep, 6000)
eq(sort[0], "compare_and_alloc", "callback frame")
if check("sort_something" in sort and sort.index("sort_something") > 1,
         "through qsort (libc, no frame pointers) back to the caller: %s" % sort):
    between = sort[1:sort.index("sort_something")]
    check(any(f and ("qsort" in f or "msort" in f) for f in between),
          "libc's sort frames in between: %s" % between)

deep = frames_of(rep, 7000)
eq(len(deep), 64, "default depth 64")
eq(set(deep), {"recurse"}, "64 frames of recurse")

proc, rec = env.run(prog, opts=["--depth", "8"], rec_name="d8.hsr")
deep = frames_of(env.report(rec, "--allocs"), 7000)
eq(len(deep), 8, "--depth 8")

proc, rec = env.run(prog, opts=["--depth", "200"], rec_name="d200.hsr")
deep = frames_of(env.report(rec, "--allocs"), 7000)
eq(deep[:101], ["recurse"] * 101, "--depth 200: all 101 recursion frames")
eq(deep[101:102], ["main"], "--depth 200: then main")

# Frame pointers only: correct for code with them (the C++ target is built with them).
proc, rec = env.run([env.target("hooks_c")], opts=["--unwind", "fp"], rec_name="fp.hsr")
st = stacks_at(env.report(rec, "--leaks"), "leak_malloc")
if check(len(st) == 1, "fp unwinder: leak_malloc stack"):
    eq(st[0]["frames"][1]["function"], "main", "fp unwinder: caller")
finish(env)
