# SPDX-License-Identifier: MIT
"""A program that drops privileges with per-thread calls (prctl(PR_SET_KEEPCAPS), capset)
and then setresuid/setresgid, run as root under the agent: util-linux's setpriv. glibc
applies set*id to every thread and aborts the process when they disagree, so an agent
thread that did not get the same per-thread capability state makes the program abort.
The program must run as it does without heapscope, exact and sampled (sampling used to
start the agent's thread at once, and setpriv aborted). Needs root; skips otherwise."""
import os
import shutil
import subprocess
from hstest import Env, eq, finish

env = Env()
if os.geteuid() != 0 or not shutil.which("setpriv"):
    print("skip: needs root and setpriv")
    finish(env)
    raise SystemExit(0)
os.chmod(env.tmp, 0o755)
argv = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", "id",
        "-u"]
plain = subprocess.run(argv, capture_output=True, timeout=60, cwd=env.tmp)
eq((plain.returncode, plain.stdout), (0, b"65534\n"), "setpriv works without heapscope")
e = dict(os.environ, LD_PRELOAD=env.agent,
         HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "setpriv.hsr"))
p = subprocess.run(argv, capture_output=True, timeout=60, cwd=env.tmp, env=e)
eq(p.returncode, plain.returncode, "setpriv's exit status under the agent")
eq(p.stdout, plain.stdout, "setpriv's output under the agent")
e = dict(e, HEAPSCOPE_SAMPLE="512k", HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "sampled.hsr"))
p = subprocess.run(argv, capture_output=True, timeout=60, cwd=env.tmp, env=e)
eq((p.returncode, p.stdout), (plain.returncode, plain.stdout),
   "setpriv's exit status and output under the agent, sampling")
finish(env)
