# SPDX-License-Identifier: MIT
"""One program thread (docs/AGENT.md): while a program has made no second thread, its
counters are added without locked instructions, and `ctl status` says `solo 1`.
- A busy single-threaded program (sample_steady: a ring of 4,096 blocks churned millions of
  times, then all freed) gets ten counter resets from the control thread while it runs
  (`ctl sample`, which wait for it to leave the bookkeeping and hold it out meanwhile); at
  exit every figure since the last reset must balance exactly: as many frees as
  allocations and as many bytes, nothing live. Solo and not: resets made without this
  protocol left a free more than the allocations in 5 of 6 runs either way. t0200 shows what unlocked adds from several threads would do: 20% of
  2,000,000 calls lost.
- python3 is solo until it starts a thread, then not, for good.
- HEAPSCOPE_SOLO=0 turns it off."""
import os
import subprocess
import sys
import time
from hstest import Env, eq, check, stacks_at, sum_field, finish, CHILDREN

env = Env()


def spawn(cmd, extra=None):
    e = dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_CONTROL_DELAY="0",
             HEAPSCOPE_OUTPUT=os.path.join(env.tmp, "p%d.hsr" % len(CHILDREN)))
    e.update(extra or {})
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e, cwd=env.tmp)
    CHILDREN.append(p)
    return p


def ctl(pid, *args):
    return subprocess.run([env.heapscope, "ctl", str(pid)] + list(args), capture_output=True,
                          timeout=60)


def status(pid):
    """ctl status as a dict, once the agent's socket answers (within 10 s)."""
    for _ in range(200):
        r = ctl(pid, "status")
        if r.returncode == 0:
            return dict(l.split(" ", 1) for l in r.stdout.decode().splitlines() if " " in l)
        time.sleep(0.05)
    return {}


# --- resets while the one thread allocates ----------------------------------------------
STEPS = 12000000


def steady(solo):
    """Ten resets from the control thread while sample_steady runs, then the balance."""
    tag = "solo" if solo else "HEAPSCOPE_SOLO=0"
    rec = os.path.join(env.tmp, "steady-%d.hsr" % solo)
    p = spawn([env.target("sample_steady"), str(STEPS)],
              {"HEAPSCOPE_OUTPUT": rec, "HEAPSCOPE_SOLO": str(solo)})
    eq(status(p.pid).get("solo"), str(solo), "sample_steady: solo %d" % solo)
    resets = 0
    for i in range(10):
        r = ctl(p.pid, "sample", "64k" if i % 2 == 0 else "0")
        resets += r.returncode == 0
        time.sleep(0.05)
    check(p.poll() is None, "%s: sample_steady still ran after the resets (else STEPS is too "
          "small here)" % tag)
    eq(resets, 10, "%s: ten resets answered" % tag)
    eq(status(p.pid).get("sample_interval"), "0", "%s: exact again after the last" % tag)
    out, err = p.communicate(timeout=120)
    eq(out, b"sample_steady done %d 0\n" % STEPS, "%s: sample_steady output" % tag)
    eq(p.returncode, 0, "%s: sample_steady exit status" % tag)
    rep = env.report(rec, "--allocs")
    eq(rep["recording"]["sample_interval"], 0, "%s: recording: exact" % tag)
    ring = stacks_at(rep, "ring")
    calls = sum_field(ring, "alloc_calls")
    check(calls > 4096, "%s: ring: %d calls since the last reset" % (tag, calls))
    eq(sum_field(ring, "free_calls"), calls, "%s: ring: every block since the reset freed" % tag)
    eq(sum_field(ring, "freed_bytes"), sum_field(ring, "alloc_bytes"),
       "%s: ring: and every byte" % tag)
    s = rep["summary"]
    eq((s["alloc_calls"], s["free_calls"], s["live_bytes"], s["live_blocks"]),
       (calls + 1, calls, 4096, 1), "%s: totals: the ring's, and stdout's buffer live" % tag)
    check(0 < s["peak_bytes"] <= 4096 * 4096, "%s: peak since the reset %d within the ring's "
          "most" % (tag, s["peak_bytes"]))


steady(1)
steady(0)

# --- a second thread ends it --------------------------------------------------------------
script = ("import sys, threading, time\n"
          "print('one', flush=True); sys.stdin.readline()\n"
          "t = threading.Thread(target=sys.stdin.readline); t.start()\n"
          "print('two', flush=True); t.join()\n")
p = spawn([sys.executable, "-c", script])
eq(p.stdout.readline(), b"one\n", "python3 started")
eq(status(p.pid).get("solo"), "1", "python3, one thread: solo")
p.stdin.write(b"go\n")
p.stdin.flush()
eq(p.stdout.readline(), b"two\n", "python3 started a thread")
eq(status(p.pid).get("solo"), "0", "python3, two threads: not solo")
p.stdin.write(b"end\n")
p.stdin.flush()
p.communicate(timeout=60)
eq(p.returncode, 0, "python3 exit status")

# --- the switch ---------------------------------------------------------------------------
p = spawn([sys.executable, "-c", "import sys; print('one', flush=True); sys.stdin.readline()"],
          {"HEAPSCOPE_SOLO": "0"})
eq(p.stdout.readline(), b"one\n", "python3 started, HEAPSCOPE_SOLO=0")
eq(status(p.pid).get("solo"), "0", "HEAPSCOPE_SOLO=0: not solo")
p.communicate(b"end\n", timeout=60)
eq(p.returncode, 0, "python3 exit status, HEAPSCOPE_SOLO=0")
finish(env)
