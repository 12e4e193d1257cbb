# SPDX-License-Identifier: MIT
"""Torture: threads on PTHREAD_STACK_MIN stacks that fill all but a little of them before
they allocate (tests/torture/torture_smallstack.c). The largest buffer that runs without
heapscope is found first; with a buffer BUDGET bytes smaller, the program must run under
heapscope as it does without, with every figure exact: the agent's thread-local memory
(which glibc places on each thread's stack) and what its hooks use of the stack fit in
BUDGET. They took about 1 KB when this test was written (120 bytes of TLS); with the
unwinder's memo and the signal queue in TLS and a 256-frame buffer on the stack, 7.5 KB,
and the program crashed."""
import subprocess
from hstest import Env, check, finish
from hstorture import same_as_plain, expect

BUDGET = 1536
NT, OPS = 8, 1000

env = Env()
target = env.target("torture_smallstack")


def runs_plain(size):
    """Whether the program, without heapscope, runs with a buffer of `size` bytes."""
    p = subprocess.run([target, str(size)], capture_output=True, timeout=60, cwd=env.tmp)
    return p.returncode == 0 and p.stdout.startswith(b"smallstack done")


lo, hi = 0, 64 * 1024        # runs at lo; find the largest multiple of 256 that runs
check(runs_plain(256), "runs without heapscope with a 256-byte buffer")
lo = 256
while hi - lo > 256:
    mid = (lo + hi) // 2 // 256 * 256
    if runs_plain(mid):
        lo = mid
    else:
        hi = mid
print("largest buffer without heapscope: %d bytes" % lo)
check(lo > BUDGET + 1024, "room for the budget on this system's PTHREAD_STACK_MIN stack")
size = lo - BUDGET
proc, rec = same_as_plain(env, [target, str(size)])
expect(env.report(rec, "--allocs"), "ss_alloc", "every block of every small-stack thread",
       alloc_calls=NT * OPS, free_calls=NT * OPS, alloc_bytes=NT * OPS * 32, live_bytes=0)
finish(env)
