# SPDX-License-Identifier: MIT
"""The allocation functions' edge cases (tests/targets/alloc_edges.c): every result and
errno as without heapscope, exact, sampled, under --check and --check=guard. Under
--check, malloc(SIZE_MAX), an overflowing calloc and a realloc to SIZE_MAX returned NULL
without setting errno to ENOMEM."""
from hstest import Env, eq, check, finish
from hstorture import same_as_plain

env = Env()
prog = [env.target("alloc_edges")]
for name, opts in (("exact", ()), ("sampled", ("--sample", "1k")), ("check", ("--check",)),
                   ("guard", ("--check=guard",))):
    proc, rec = same_as_plain(env, prog, opts=opts, rec_name=name + ".hsr")
    check(b"errno=12" in proc.stdout, name + ": the failures' ENOMEM seen")
finish(env)
