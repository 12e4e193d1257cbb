# SPDX-License-Identifier: MIT
"""Allocation in signal handlers interrupting malloc: no deadlock, exact counts."""
import re
from hstest import Env, eq, check, stacks_at, sum_field, finish

env = Env()
proc, rec = env.run([env.target("signals"), "2000000"], timeout=240)
eq(proc.returncode, 0, "exit status")
m = re.match(rb"handled (\d+)\n", proc.stdout)
if check(m, "program output: %r" % proc.stdout):
    handled = int(m.group(1))
    check(handled > 10, "enough signals handled (%d)" % handled)
    leaks = stacks_at(env.report(rec, "--leaks"), "handler_alloc")
    eq(sum_field(leaks, "live_blocks"), handled, "one 77-byte leak per handled signal")
    eq(sum_field(leaks, "live_bytes"), 77 * handled, "leaked bytes")
    allocs = stacks_at(env.report(rec, "--allocs"), "handler_alloc")
    eq(sum_field(allocs, "alloc_calls"), 2 * handled, "handler allocations")
    funcs = set()
    for s in leaks:
        funcs.update(f.get("function") for f in s["frames"])
    check("on_alarm" in funcs, "the handler is on the stack")
    check("main" in funcs, "the interrupted code (main) is on the stack: %s" % sorted(
        f for f in funcs if f))
finish(env)
