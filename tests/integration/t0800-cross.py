# SPDX-License-Identifier: MIT
"""aarch64 and armhf under qemu-user: the agent, the targets and the unwinder's unit test
cross-built with Debian's cross compilers, run under qemu-user, and their recordings read by
this build's CLI with --sysroot (tests/cross/run.sh, tests/cross/check.py). Each architecture
whose cross compiler or qemu-user is missing is skipped, saying so."""
import os
import subprocess
import sys
import time

from hstest import Env, check, finish

env = Env()
script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cross", "run.sh")
for arch in ("aarch64", "armhf"):
    e = dict(os.environ)
    e["HEAPSCOPE_CROSS_BUILD"] = os.path.join(env.build, "cross-" + arch)
    t = time.time()
    proc = subprocess.run([script, arch, env.build], capture_output=True, timeout=280, env=e)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode == 77:
        print("skip: %s: %s" % (arch, out.strip()))
        continue
    tail = "\n".join(l for l in out.splitlines() if not l.startswith("ok:"))
    print(tail[-4000:])
    sys.stdout.write(proc.stderr.decode(errors="replace")[-2000:])
    check(proc.returncode == 0, "%s under qemu-user: unit test and scenarios (%.1f s)"
          % (arch, time.time() - t))
finish(env)
