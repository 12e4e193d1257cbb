# SPDX-License-Identifier: MIT
"""The unwinder's memo (docs/UNWIND.md, "Reusing the last walk") gives the same stacks as
walks without it: a program whose 4 threads allocate from 12,000 chains that share their
outer frames (depths up to 90, past the memo's 64 frames; two functions with identical
frames; allocations in a signal handler) is run with the memo and with
HEAPSCOPE_UNWIND_REUSE=0, at the default depth and at 128; every stack's frames, calls and
bytes must be the same in both. The recording's count of the walks (END, the report's
`stack_walks`) must match the stacks: one walk an allocation, the frames each gave its
stack's, most of them from the memo with it and none without it."""
import os

from hstest import Env, eq, check, functions, finish

env = Env()
prog = [env.target("walk_mix_nofp")]


def stacks(rec, tag, reuse):
    rep = env.report(rec, "--allocs")
    walks = rep["recording"].get("stack_walks") or {}
    depth = sum(s["alloc_calls"] * sum(1 for f in s["frames"] if not f["inlined"])
                for s in rep["stacks"])
    eq(walks.get("walks"), rep["summary"]["alloc_calls"], "%s: a walk an allocation" % tag)
    eq(walks.get("frames"), depth, "%s: the walks' frames, those of the stacks" % tag)
    reused = walks.get("frames_reused", -1)
    if reuse == "0":
        eq(reused, 0, "%s: no frame from the memo" % tag)
    else:
        check(2 * reused > depth, "%s: most frames from the memo (%d of %d)"
              % (tag, reused, depth))
    return sorted((s["allocator"], s["alloc_calls"], s["alloc_bytes"], tuple(functions(s)))
                  for s in rep["stacks"])


for depth in ("64", "128"):
    got = {}
    for reuse in ("1", "0"):
        e = dict(os.environ, HEAPSCOPE_UNWIND_REUSE=reuse)
        proc, rec = env.run(prog, opts=["--depth", depth], env=e,
                            rec_name="r%s_%s.hsr" % (depth, reuse))
        eq(proc.returncode, 0, "exit status (depth %s, reuse %s)" % (depth, reuse))
        eq(proc.stdout, b"walk mix done\n", "output (depth %s, reuse %s)" % (depth, reuse))
        got[reuse] = stacks(rec, "depth %s, reuse %s" % (depth, reuse), reuse)
    with_memo, without = got["1"], got["0"]
    check(len(without) > 1000, "depth %s: %d distinct stacks" % (depth, len(without)))
    deepest = max((len(s[3]) for s in without), default=0)
    if depth == "64":
        eq(deepest, 64, "depth 64: the deepest stacks are cut at it")
    else:   # 91 calls of rec_*, leaf, the handler's frames, the thread's start: 99
        check(64 < deepest < 128, "depth 128: stacks deeper than the memo's 64 frames "
              "and not cut (%d frames)" % deepest)
    check(any("on_usr1" in s[3] for s in without),
          "depth %s: stacks through the signal handler" % depth)
    if not eq(len(with_memo), len(without), "depth %s: as many stacks with the memo" % depth):
        continue
    differ = [(a, b) for a, b in zip(with_memo, without) if a != b]
    if not check(not differ, "depth %s: every stack the same with and without the memo"
                 % depth):
        a, b = differ[0]
        print("first difference:\n  with    %r\n  without %r" % (a, b))
finish(env)
