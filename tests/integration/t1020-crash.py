# SPDX-License-Identifier: MIT
"""Crash-safe recordings. A program dying of SIGSEGV or SIGABRT after a random number of
allocations leaves a recording with exactly those allocations, ended by the signal. One
killed with SIGKILL after the first autosave leaves a recording that loads, says it was
cut short, and holds a prefix of the true figures. A recording cut at any byte loads up
to its last complete record. A full disk (a small tmpfs) or a read-only directory stops
recording with one message while the program goes on unchanged; `heapscope run` given a
recording path in a missing directory, or a directory's, says so before running anything."""
import json
import os
import random
import signal
import subprocess
import time
from hstest import Env, eq, check, fail, finish
from hstorture import figures

env = Env()
prog = env.target("torture_crash")
seed = int(os.environ.get("HEAPSCOPE_TEST_SEED", random.randrange(1 << 30)))
rnd = random.Random(seed)
print("seed %d (HEAPSCOPE_TEST_SEED to repeat)" % seed)


def report(rec, *args):
    return subprocess.run([env.heapscope, "report", rec] + list(args), capture_output=True,
                          timeout=120)


def load(rec):
    r = report(rec, "--format", "json", "--top", "0", "--allocs")
    if r.returncode != 0:
        fail("%s does not load: %s" % (rec, r.stderr.decode()))
        return None
    return json.loads(r.stdout)


# --- fatal signals: the handler writes the recording, then the signal does its work ----
for mode, sig in (("segv", signal.SIGSEGV), ("segv", signal.SIGSEGV), ("segv", signal.SIGSEGV),
                  ("abort", signal.SIGABRT)):
    n = rnd.randrange(1, 5000)
    rec = os.path.join(env.tmp, "%s-%d.hsr" % (mode, n))
    p = env.preload([prog, mode, str(n)], {"HEAPSCOPE_OUTPUT": rec}, timeout=60)
    eq(p.returncode, -sig, "%s after %d allocations: the program dies of its signal" % (mode, n))
    d = load(rec)
    if d:
        eq(figures(d, "crash_alloc", "malloc")["alloc_calls"], n,
           "%s: every allocation before the crash" % mode)
        eq(d["recording"]["end_reason"], "signal", "%s: ended by the signal" % mode)
        check(any("signal %d" % sig in m["text"] for m in d["messages"]),
              "%s: the recording names the signal" % mode)

# --- SIGKILL after the first autosave ------------------------------------------------------
for k in range(3):
    n = rnd.randrange(1, 5000)
    rec = os.path.join(env.tmp, "kill-%d.hsr" % k)
    e = dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_OUTPUT=rec,
             HEAPSCOPE_AUTOSAVE="200ms")
    p = subprocess.Popen([prog, "wait", str(n)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e, cwd=env.tmp)
    eq(p.stdout.readline(), b"ready %d\n" % n, "kill %d: program ready" % k)
    saved = False
    for _ in range(300):		# until an autosave holds the n allocations (30 s at most)
        if os.path.exists(rec):
            r = report(rec, "--format", "json", "--top", "0", "--allocs")
            if r.returncode == 0 and figures(json.loads(r.stdout), "crash_alloc",
                                             "malloc")["alloc_calls"] == n:
                saved = True
                break
        time.sleep(0.1)
    check(saved, "kill %d: an autosave came" % k)
    time.sleep(rnd.random() * 0.5)	# at a random point of the ticking
    p.kill()
    p.communicate(timeout=30)
    eq(p.returncode, -signal.SIGKILL, "kill %d: killed" % k)
    d = load(rec)
    if d:
        eq(d["recording"]["truncated"], True, "kill %d: JSON says truncated" % k)
        txt = report(rec).stdout.decode()
        check("cut short" in txt or "truncated" in txt, "kill %d: the report says it was cut "
              "short" % k)
        eq(figures(d, "crash_alloc", "malloc")["alloc_calls"], n, "kill %d: allocations" % k)
        t = figures(d, "tick")
        check(t["free_calls"] <= t["alloc_calls"] <= t["free_calls"] + 1,
              "kill %d: ticks a prefix of the program's (%r)" % (k, t))

# Killed before any autosave: no recording, or one that loads.
rec = os.path.join(env.tmp, "early.hsr")
e = dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_OUTPUT=rec, HEAPSCOPE_AUTOSAVE="1m")
p = subprocess.Popen([prog, "wait", "10"], stdout=subprocess.PIPE, env=e, cwd=env.tmp)
p.stdout.readline()
p.kill()
p.communicate(timeout=30)
check(not os.path.exists(rec) or os.path.getsize(rec) == 0 or load(rec) is not None,
      "killed before the first autosave: no recording, or one that loads")

# --- a recording cut at any byte -------------------------------------------------------------
full_rec = os.path.join(env.tmp, "full.hsr")
env.preload([prog, "run", "300", "20"], {"HEAPSCOPE_OUTPUT": full_rec,
                                          "HEAPSCOPE_AUTOSAVE": "30ms"}, timeout=60)
full = load(full_rec)
data = open(full_rec, "rb").read()
cuts = sorted(set([1, 8, 15, 16, 17, len(data) - 1] +
                  [rnd.randrange(16, len(data)) for _ in range(30)]))
bad = []
for cut in cuts:
    part = os.path.join(env.tmp, "cut.hsr")
    with open(part, "wb") as f:
        f.write(data[:cut])
    r = report(part, "--format", "json", "--top", "0", "--allocs")
    if cut < 16:
        if r.returncode != 1 or not r.stderr.startswith(b"heapscope: "):
            bad.append((cut, "header: status %d" % r.returncode))
        continue
    if r.returncode != 0:
        bad.append((cut, r.stderr.decode()))
        continue
    d = json.loads(r.stdout)
    if not d["recording"]["truncated"] or \
            d["summary"].get("alloc_calls", 0) > full["summary"]["alloc_calls"]:
        bad.append((cut, "not marked truncated, or more than the whole"))
eq(bad, [], "%d cuts of a %d-byte recording load as prefixes" % (len(cuts), len(data)))

# --- a full disk and a read-only directory -------------------------------------------------
ticks = [prog, "run", "100", "30"]
base = subprocess.run(ticks, capture_output=True, timeout=60, cwd=env.tmp)


def stops_once(where, expect_err, what):
    p = env.preload(ticks, {"HEAPSCOPE_OUTPUT": os.path.join(where, "r.hsr"),
                            "HEAPSCOPE_AUTOSAVE": "50ms"}, timeout=60)
    eq((p.returncode, p.stdout), (base.returncode, base.stdout), what + ": program unchanged")
    said = [l for l in p.stderr.decode().splitlines() if l.startswith("heapscope:")]
    eq(len(said), 1, what + ": one message (%r)" % said)
    check(said and expect_err in said[0] and "recording stopped" in said[0],
          what + ": says why and that recording stopped")


mnt = os.path.join(env.tmp, "mnt")
os.mkdir(mnt)
if os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                                         mnt], capture_output=True).returncode == 0:
    try:
        fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(fd)
        stops_once(mnt, "No space left on device", "full disk")
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        stops_once(mnt, "Read-only file system", "read-only directory")
    finally:
        subprocess.run(["umount", mnt])
else:
    print("skip: full disk (cannot mount a tmpfs here)")
    os.chmod(mnt, 0o555)
    if os.geteuid() != 0:
        stops_once(mnt, "Permission denied", "unwritable directory")
stops_once(os.path.join(env.tmp, "no", "such"), "No such file or directory",
           "missing directory")

# `heapscope run` says so before the program runs: one message, status 1, nothing run
marker = os.path.join(env.tmp, "ran")
for out, err in ((os.path.join(env.tmp, "no", "such", "r.hsr"), "No such file or directory"),
                 (env.tmp, "Is a directory")):
    r = subprocess.run([env.heapscope, "run", "-o", out, "--", "touch", marker],
                       capture_output=True, timeout=60)
    eq((r.returncode, r.stdout, r.stderr.decode()),
       (1, b"", "heapscope: cannot write recording '%s': %s\n" % (out, err)),
       "run -o %s: said before running" % out)
    check(not os.path.exists(marker), "run -o %s: the program did not run" % out)
finish(env)
