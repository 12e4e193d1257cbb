# SPDX-License-Identifier: MIT
"""Torture: a program that closes every descriptor (the agent's control socket among
them), then dup2()s /dev/null over every free one up to the limit so the agent can open
nothing, allocates meanwhile, releases them and checkpoints (tests/torture/torture_fds.c).
Output and status unchanged, exact figures, the checkpoint written, and the control
socket answers again afterwards."""
import os
import subprocess
import time
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, expect

env = Env()
N = 1000
prog = env.target("torture_fds")
proc, rec = same_as_plain(env, [prog, str(N)])
eq(proc.stdout.split(b"\n")[0], b"took all descriptors; checkpoint ok", "checkpoint works")
allocs = env.report(rec, "--allocs")
expect(allocs, "phase", "allocations before and while every descriptor is taken",
       alloc_calls=2 * N, free_calls=2 * N - 10, live_bytes=10 * 48)
callers = set(s["frames"][1]["function"] for s in allocs["stacks"]
              if s["frames"] and s["frames"][0]["function"] == "phase")
eq(callers, {"fd_phase1", "fd_phase2"}, "both phases seen")
check("after-fds" in [s.get("name") for s in allocs.get("snapshots", [])],
      "the checkpoint's snapshot is in the recording")
check(not allocs["recording"]["truncated"], "recording complete")

# The control socket, closed by the program, is made again: ctl reaches the process.
sockdir = os.path.join(env.tmp, "sock")
# The thread starts at once (by default it waits for the first allocation after 1 s, and
# this program allocates nothing while it waits).
e = dict(os.environ, HEAPSCOPE_SOCKET_DIR=sockdir, HEAPSCOPE_CONTROL_DELAY="0")
p = subprocess.Popen([env.heapscope, "run", "-o", os.path.join(env.tmp, "ctl.hsr"),
                      "--no-summary", "--", prog, str(N), "wait"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=env.tmp, env=e)
lines = [p.stdout.readline() for _ in range(2)]
eq(lines[1], b"ready\n", "program waits")
pids = [int(n[:-5]) for n in os.listdir(sockdir) if n.endswith(".sock")] \
    if os.path.isdir(sockdir) else []
status = None
for _ in range(50):	# the control thread notices within its poll interval
    if pids:
        r = subprocess.run([env.heapscope, "ctl", str(pids[0]), "status"],
                           capture_output=True, timeout=30, env=e)
        if r.returncode == 0:
            status = r.stdout.decode()
            break
    time.sleep(0.1)
    pids = [int(n[:-5]) for n in os.listdir(sockdir) if n.endswith(".sock")]
check(status and "alloc_calls" in status, "ctl status answered after the program closed "
      "the socket: %r" % status)
out, err = p.communicate(b"go\n", timeout=60)
eq(p.returncode, 0, "exit status after the wait")
finish(env)
