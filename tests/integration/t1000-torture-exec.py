# SPDX-License-Identifier: MIT
"""Torture: an exec chain of six images through execv, execvp, execve and execl
(tests/torture/torture_exec.c): output and status unchanged, one recording per image,
each with that image's exact leak; every image but the last ended by exec."""
import glob
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, leaks_by_function

env = Env()
N = 5
proc, rec = same_as_plain(env, [env.target("torture_exec"), str(N)])
eq(proc.returncode, 3, "status of the last image")
eq(proc.stdout, b"".join(b"image %d\n" % n for n in range(N, -1, -1)), "every image ran")
images = {}
for path in [rec] + glob.glob(rec + ".*"):
    r = env.report(path, "--leaks")
    lk = leaks_by_function(env, path)
    n = (lk.get("exec_leak", 0) - 1) // 10
    check(lk.get("exec_leak") == 10 * n + 1 and n not in images,
          "%s: one image's leak (%r)" % (path, lk.get("exec_leak")))
    images[n] = r["recording"]
eq(sorted(images), list(range(N + 1)), "a recording for every image")
eq([images[n]["end_reason"] for n in sorted(images)], ["exit"] + ["exec"] * N,
   "images end by exec, the last by exit")
eq(len(set(r["pid"] for r in images.values())), 1, "all images are one process")
check(not any(r["truncated"] for r in images.values()), "no recording cut short")
finish(env)
