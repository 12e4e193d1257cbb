# SPDX-License-Identifier: MIT
"""The interfaces of the hook libraries heapscope replaces: a program written against the
jhook and checkpoint() prototypes links with libheapscope.so and behaves as documented;
BACKTRACE_MIN_SIZE, DUMP_PEAK_VALUE_MB and the exit line; SIGUSR1/SIGUSR2 dumps."""
import os
import re
import signal
import subprocess
import sys
import time
from hstest import Env, eq, check, finish

env = Env()
dump = os.path.join(env.tmp, "checkpoint.txt")
proc = subprocess.run([env.target("jhook_user"), dump], capture_output=True, timeout=60,
                      env=dict(os.environ, HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "j.hsr")))
eq(proc.returncode, 0, "jhook_user exit status")
eq(proc.stdout, b"jhook_user done\n", "jhook_user output")
err = proc.stderr.decode()
sections = {}
for part in err.split("== ")[1:]:
    name, _, body = part.partition("\n")
    sections[name] = body.strip().splitlines()


def rows(name):
    lines = sections.get(name, [])
    check(lines and lines[0] == "size alloc free diff addr", name + ": table header")
    check(lines and re.match(r"^----------- total=\d+ peak=\d+ -----------$", lines[-1]),
          name + ": total/peak line")
    return [l.split()[:4] for l in lines[1:-1]]


eq(rows("choice 2"), [["4096", "3", "0", "3"]], "choice 2: unfreed")
eq(rows("choice 1"), [], "choice 1: nothing changed since the last check")
eq(rows("choice 0"), [["4096", "6", "0", "6"]], "choice 0: unfreed and changed")
eq(rows("choice 5"), [["4096", "6", "0", "6"]], "choice 5: more than 5 unfreed")
eq(rows("after stop"), [], "jhook_stop cleared everything")
eq(sections["choice 2"][-1], "----------- total=12288 peak=14336 -----------", "total and peak")
eq(sections["after stop"][-1], "----------- total=0 peak=0 -----------", "after stop")
text = open(dump).read()
check(text.startswith("checkpoint: pid "), "checkpoint(file) wrote its dump")
check("live: 24576 bytes in 6 blocks" in text,
      "checkpoint dump: live figures, 8-byte blocks under the limit left out")

# BACKTRACE_MIN_SIZE and DUMP_PEAK_VALUE_MB, with the agent alone.
rec = os.path.join(env.tmp, "legacy.hsr")
proc = env.preload([env.target("hooks_c")], {"HEAPSCOPE_OUTPUT": rec,
                                               "BACKTRACE_MIN_SIZE": "600",
                                               "DUMP_PEAK_VALUE_MB": "1"})
eq(proc.returncode, 7, "hooks_c exit status with legacy variables")
m = re.search(rb"host peak used: (\d+)MB, dma peak used (\d+)MB, total peak used: (\d+)MB",
              proc.stderr)
if check(m, "exit line printed: %r" % proc.stderr[-200:]):
    eq((int(m.group(1)), int(m.group(2)), int(m.group(3))), (1, 0, 1),
       "exit line figures (peak of 2 MB = 1 MiB and a bit)")
rep = env.report(rec, "--leaks")
nostack = [s for s in rep["stacks"] if not s["frames"]]
eq(sorted(s["live_bytes"] for s in nostack), [100, 200, 300, 400, 500],
   "blocks under BACKTRACE_MIN_SIZE have no stack")
withstack = [s["frames"][0]["function"] for s in rep["stacks"] if s["frames"]]
check("leak_posix_memalign" in withstack and "leak_pvalloc" in withstack,
      "blocks of 600 bytes and more keep their stacks")
# jhook_stop in the program's first second: the control thread, which the allocation path
# starts after a second, would never start with tracking off; it starts at jhook_stop, so
# `heapscope ctl` still reaches the process (it answered "cannot reach" before).
code = ("import ctypes, sys, time\n"
        "ctypes.CDLL(None).jhook_stop()\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n")
p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     env=dict(os.environ, LD_PRELOAD=env.agent,
                              HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "stopped.hsr")))
p.stdout.readline()
st = env.text("ctl", str(p.pid), "status")
p.communicate(b"\n", timeout=60)
eq(st.returncode, 0, "ctl status after jhook_stop: %r" % st.stderr)
check(b"tracking 0" in st.stdout, "ctl status says tracking is off")

# Loaded with tracking off (HEAPSCOPE_START=0), a process forks: the child's control starts
# on its first allocation, which tracking-off used to skip (its socket never appeared).
code = ("import os, sys\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    x = [str(i) for i in range(1000)]\n"
        "    print(os.getpid(), flush=True)\n"
        "    sys.stdin.readline()\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n")
p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     env=dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_START="0",
                              HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "forked.hsr")))
child = int(p.stdout.readline())
st = env.text("ctl", str(child), "status")
p.communicate(b"\n", timeout=60)
eq(st.returncode, 0, "ctl status of a child forked with tracking off: %r" % st.stderr)
check(b"tracking 0" in st.stdout, "the child's tracking is off, as its parent's")

# The exit line to a stderr that is a closed pipe: the program ends as it would have
# (the agent's write once raised SIGPIPE in it, and hooks_c died of it instead of exiting 7).
rd, wr = os.pipe()
os.close(rd)
proc = subprocess.run([env.target("hooks_c")], stdout=subprocess.DEVNULL, stderr=wr,
                      timeout=60, env=dict(os.environ, LD_PRELOAD=env.agent,
                                           HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "epipe.hsr"),
                                           DUMP_PEAK_VALUE_MB="1"))
os.close(wr)
eq(proc.returncode, 7, "exit status with the exit line written to a closed pipe")

# Stacks without frames are written between the others in id order, as readers take
# them: they once came first in a write and hid every lower id written after them (python3
# starting up lost 87 of its 345 stacks' frames and kinds that way).
rec = os.path.join(env.tmp, "minsize.hsr")
proc = env.preload([sys.executable, "-c", "pass"], {"HEAPSCOPE_OUTPUT": rec,
                                                   "BACKTRACE_MIN_SIZE": "64"})
eq(proc.returncode, 0, "python3 under BACKTRACE_MIN_SIZE=64")
allocs = env.report(rec, "--allocs")
frameless = [s for s in allocs["stacks"] if not s["frames"]]
check(len(allocs["stacks"]) > 100 and 0 < len(frameless) < 10,
      "%d stacks, %d without frames" % (len(allocs["stacks"]), len(frameless)))
eq([(s["allocator"], s["alloc_bytes"] < 64 * s["alloc_calls"]) for s in frameless
    if s["allocator"] == "?" or s["alloc_bytes"] >= 64 * s["alloc_calls"]], [],
   "a stack without frames is one of blocks under BACKTRACE_MIN_SIZE, of a known kind")
check([s for s in rep["snapshots"] if s["reason"] == "threshold"],
      "DUMP_PEAK_VALUE_MB=1: a threshold snapshot")
eq(rep["summary"]["peak_bytes"] >= 2000000, True, "the peak passed the threshold")

# SIGUSR1 / SIGUSR2 dumps, opt-in.
p = subprocess.Popen([env.target("service"), "2000", "5"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, cwd=env.tmp,
                     env=dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_SIGUSR_DUMPS="1",
                              HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "usr.hsr")))
p.stdout.readline()
time.sleep(0.3)
p.send_signal(signal.SIGUSR1)
time.sleep(0.4)
p.send_signal(signal.SIGUSR2)
time.sleep(0.4)
p.terminate()
out, errb = p.communicate(timeout=30)
eq(p.returncode, 0, "service ends normally on SIGTERM")
check(b"heapscope live heap by size" in errb, "SIGUSR1 dump by size")
check(b"heapscope live heap by count" in errb, "SIGUSR2 dump by count")
finish(env)
