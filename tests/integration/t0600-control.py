# SPDX-License-Identifier: MIT
"""Running processes: every trigger (API, signal, periodic, threshold, command, exit) and
every ctl command end to end on a long-running service, with the snapshots' figures;
`top` in tmux; `ps`; a process loaded with tracking off until told to start."""
import json
import os
import shutil
import signal
import subprocess
import time
from hstest import Env, eq, check, stacks_at, sum_field, finish, CHILDREN

env = Env()
SERVICE = env.target("service")
BASE = 50000 + 4096        # startup block + stdout's buffer, live from "ready" on


def start(args, rec, extra=None, preload=False):
    e = dict(os.environ, **(extra or {}))
    if preload:
        e.update(LD_PRELOAD=env.agent, HEAPSCOPE_OUTPUT=rec)
        cmd = [SERVICE] + args
    else:
        cmd = [env.heapscope, "run", "-o", rec, "--no-summary", "--", SERVICE] + args
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                         cwd=env.tmp)
    CHILDREN.append(p)
    line = p.stdout.readline().split()
    return p, int(line[1])


def ctl(pid, *args):
    return subprocess.run([env.heapscope, "ctl", str(pid)] + list(args), capture_output=True,
                          timeout=60)


def status(pid):
    out = ctl(pid, "status").stdout.decode()
    return dict(l.split(" ", 1) for l in out.splitlines() if " " in l)


# --- triggers: API, signal, periodic, threshold, exit ------------------------------------
rec = os.path.join(env.tmp, "triggers.hsr")
sig = signal.SIGRTMIN + 2
p, pid = start(["60", "20", "api"], rec, {"HEAPSCOPE_INTERVAL": "300ms",
                                          "HEAPSCOPE_CHECKPOINT_SIGNAL": "SIGRTMIN+2",
                                          "HEAPSCOPE_THRESHOLD": "60k"})
time.sleep(0.4)
os.kill(pid, sig)
out, err = p.communicate(timeout=60)
eq(p.returncode, 0, "service exit status")
eq(out, b"done\n", "service output")
snaps = env.report(rec)["snapshots"]
api = [s for s in snaps if s["reason"] == "api"]
eq([s["name"] for s in api], ["iter-%d" % k for k in range(10, 61, 10)], "API checkpoints")
for s in api:
    k = int(s["name"][5:])
    eq(s["live_bytes"], BASE + 1000 * k, "live bytes at %s" % s["name"])
    eq(s["live_blocks"], 2 + k, "live blocks at %s" % s["name"])
check(len([s for s in snaps if s["reason"] == "periodic"]) >= 2, "periodic snapshots")
eq(len([s for s in snaps if s["reason"] == "signal"]), 1, "one snapshot on the signal")
# The threshold is first passed during churn (transient blocks); the snapshot follows within
# the control thread's 100 ms, its PEAK record holding the stacks at the peak.
eq(len([s for s in snaps if s["reason"] == "threshold"]), 1, "one threshold snapshot")
eq(snaps[-1]["reason"], "exit", "last snapshot at exit")
eq(snaps[-1]["live_bytes"], BASE + 60000, "live bytes at exit")
seqs = [s["seq"] for s in snaps]
eq(seqs, list(range(1, len(snaps) + 1)), "snapshot sequence numbers")

# --- ctl commands ---------------------------------------------------------------------------
rec = os.path.join(env.tmp, "ctl.hsr")
p, pid = start(["100000", "5"], rec)
st = status(pid)
eq(st.get("pid"), str(pid), "status: pid")
eq(st.get("tracking"), "1", "status: tracking")
check(int(st.get("live_bytes", 0)) >= BASE, "status: live bytes")
ps = subprocess.run([env.heapscope, "ps"], capture_output=True, timeout=30).stdout.decode()
check(any(l.split()[0] == str(pid) for l in ps.splitlines()[1:]), "ps lists the service")

eq(ctl(pid, "checkpoint", "by-hand").returncode, 0, "ctl checkpoint")
dump = os.path.join(env.tmp, "dump.txt")
eq(ctl(pid, "dump", dump).returncode, 0, "ctl dump")
text = open(dump).read() if os.path.exists(dump) else ""
check(text.startswith("heapscope dump: pid %d" % pid), "dump header")
check(" bytes in 1 blocks (allocs 1, frees 0) [malloc]" in text, "dump lists the start-up block")
snapfile = os.path.join(env.tmp, "snap.hsr")
eq(ctl(pid, "snapshot", snapfile).returncode, 0, "ctl snapshot")
snap = env.report(snapfile, "--leaks")
eq(sum_field(stacks_at(snap, "startup"), "live_bytes"), 50000, "snapshot: startup block")
check(sum_field(stacks_at(snap, "leak_per_request"), "live_blocks") > 0, "snapshot: leaks")
snap_all = env.report(snapfile, "--allocs")
eq(snap_all["summary"]["alloc_calls"], sum_field(snap_all["stacks"], "alloc_calls"),
   "snapshot of a running process: its totals add up (read with its stacks)")

window = os.path.join(env.tmp, "window.hsr")
r = ctl(pid, "record", "--seconds", "0.5", "-o", window)
eq(r.returncode, 0, "ctl record: %s" % r.stderr.decode().strip())
win = env.report(window, "--allocs")
leak = stacks_at(win, "leak_per_request")
n = sum_field(leak, "alloc_calls")
check(20 <= n <= 110, "window: about 0.5 s of requests (%d)" % n)
eq(sum_field(leak, "live_blocks"), n, "window: every request's block still live")
churn = stacks_at(win, "churn")
eq(sum_field(churn, "alloc_calls"), sum_field(churn, "free_calls"), "window: churn balanced")
eq(sum_field(stacks_at(win, "startup"), "alloc_calls"), 0, "window: nothing from before it")
eq(win["summary"]["alloc_calls"], sum_field(win["stacks"], "alloc_calls"), "window totals")

st = status(pid)
check(int(st.get("walks", 0)) >= int(st["alloc_calls"]) > 0 and
      int(st.get("walk_frames", 0)) > int(st["walks"]),
      "status: a stack walk for each call counted, and frames (%s walks, %s frames, %s calls)"
      % (st.get("walks"), st.get("walk_frames"), st["alloc_calls"]))

eq(ctl(pid, "stop").returncode, 0, "ctl stop")
eq(status(pid).get("tracking"), "0", "stopped")
st = status(pid)
calls, walks = int(st["alloc_calls"]), int(st.get("walks", -1))
time.sleep(0.2)
st = status(pid)
eq(int(st["alloc_calls"]), calls, "nothing counted while stopped")
eq(int(st.get("walks", -2)), walks, "no stack walked while stopped")
eq(ctl(pid, "sample", "8k").returncode, 0, "ctl sample")
eq(ctl(pid, "start").returncode, 0, "ctl start")
st = status(pid)
eq((st.get("tracking"), st.get("sample_interval")), ("1", "8192"), "started, sampling")
check(int(st["alloc_calls"]) < calls, "start took a clean baseline")

# top, in a real terminal (tmux), its screen captured
if shutil.which("tmux"):
    sess = "hs-top-%d" % os.getpid()
    subprocess.run(["tmux", "new-session", "-d", "-s", sess, "-x", "120", "-y", "30",
                    "%s top %d -d 0.3" % (env.heapscope, pid)], check=True)
    screen = ""
    for _ in range(100):        # the first refresh symbolizes: allow a loaded machine time
        time.sleep(0.2)
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", sess],
                                capture_output=True, text=True).stdout
        if "leak_per_request" in screen and "[sampled" in screen:
            break
    subprocess.run(["tmux", "kill-session", "-t", sess])
    check(screen.startswith("heapscope top - pid %d (service)" % pid), "top: title on the "
          "first line (the screen refreshes in place): %r" % screen[:80])
    check("leak_per_request (service.c:" in screen, "top: the growing stack, symbolized")
    check("[sampled: estimates]" in screen, "top: says the figures are estimates")
    print(screen)
else:
    print("skip: tmux not installed")


def gdb_can_call():
    """Whether gdb can call a function in a process here: under some virtual machines'
    kernels it cannot write the registers' extended state back ("Couldn't write extended
    state status: Bad address") and the call kills the process. Asked of a plain sleep, so
    that a failure with the agent loaded still fails the test."""
    if not shutil.which("gdb"):
        return "gdb not installed"
    sl = subprocess.Popen(["sleep", "60"])
    CHILDREN.append(sl)
    time.sleep(0.1)
    g = subprocess.run(["gdb", "-p", str(sl.pid), "-batch", "-ex", "call (int)getpid()"],
                       capture_output=True, timeout=120, text=True)
    sl.kill()
    sl.wait()
    if "$1 = %d" % sl.pid in g.stdout:
        return None
    return "gdb cannot call a function in a plain process here: %r" % (g.stdout + g.stderr)[-200:]


# the public API from a debugger
no_gdb = gdb_can_call()
if no_gdb:
    print("skip:", no_gdb)
else:
    g = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex",
                        'call (int)heapscope_checkpoint("from-gdb")'],
                       capture_output=True, timeout=120, text=True)
    check("$1 = 0" in g.stdout, "gdb: call heapscope_checkpoint(\"from-gdb\") returned 0: %r"
          % g.stdout[-200:])

p.terminate()
out, err = p.communicate(timeout=60)
eq(p.returncode, 0, "service ends on SIGTERM")
rep = env.report(rec)
eq([s["name"] for s in rep["snapshots"] if s["reason"] == "command"], ["by-hand"],
   "the command checkpoint is in the recording")
if not no_gdb:
    eq([s["name"] for s in rep["snapshots"] if s["reason"] == "api"], ["from-gdb"],
       "the checkpoint called from gdb is in the recording")
eq(rep["recording"]["sample_interval"], 8192, "the recording says it was sampled")
time.sleep(0.2)
ps = subprocess.run([env.heapscope, "ps"], capture_output=True, timeout=30).stdout.decode()
check(not any(l.split()[0] == str(pid) for l in ps.splitlines()[1:]), "ps: gone after exit")

# --- errors ---------------------------------------------------------------------------------
r = ctl(pid, "status")
eq((r.returncode, r.stderr.decode()), (1, "heapscope: no process %d\n" % pid), "ctl: gone")
r = ctl(os.getpid(), "status")
eq(r.returncode, 1, "ctl: a process without the agent")
check(b"carries no heapscope agent" in r.stderr, "ctl: says so")
eq(ctl("x", "status").returncode, 2, "ctl: bad pid is a usage error")

# --- loaded with tracking off until told to start -------------------------------------------
rec = os.path.join(env.tmp, "off.hsr")
p, pid = start(["100000", "5"], rec, {"HEAPSCOPE_START": "0"}, preload=True)
time.sleep(0.2)
st = status(pid)
eq((st.get("tracking"), st.get("alloc_calls")), ("0", "0"), "loaded with tracking off")
ctl(pid, "start")
time.sleep(0.3)
check(int(status(pid)["alloc_calls"]) > 0, "tracking after start")
p.terminate()
p.communicate(timeout=60)
rep = env.report(rec, "--leaks")
eq(sum_field(stacks_at(rep, "startup"), "live_bytes"), 0, "nothing from before start")
check(sum_field(stacks_at(rep, "leak_per_request"), "live_blocks") > 0, "leaks after start")

# --- sampling from the start: the control thread still starts after its delay --------------
# (the sampled hooks never reach the tracker's tick: countdowns run out every 64 KiB until
# the thread has started, and the tracker looks at the clock then)
rec = os.path.join(env.tmp, "sampled-start.hsr")
p, pid = start(["150", "20"], rec, {"HEAPSCOPE_SAMPLE": "512k"})
time.sleep(1.5)
st = status(pid)
eq((st.get("tracking"), st.get("sample_interval")), ("1", "524288"),
   "sampled from the start: ctl status answers")
check(p.poll() is None, "sampled from the start: answered while the service runs")
out, err = p.communicate(timeout=60)
eq((p.returncode, out), (0, b"done\n"), "sampled service's exit status and output")
finish(env)
