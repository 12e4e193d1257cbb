# SPDX-License-Identifier: MIT
"""Fault injection (HEAPSCOPE_FAULT, src/agent/faultinject.h): the agent's Nth mmap, Nth
write of the recording, or Nth control-thread start fails as if the system refused, for
every N over a range, on a few targets. Every time: the program's exit status, stdout
and own stderr are those of a run without heapscope; no hang (a timeout fails); each
message of the agent at most once; a recording that exists and is not empty loads; and
when the agent said nothing, its figures are exact (a silent fault must not cost data)."""
import os
import subprocess
from hstest import Env, eq, check, fail, finish
from hstorture import figures

env = Env()
HOOKS = [env.target("hooks_c")]
THREADS = [env.target("torture_threads"), "2000"]
FORK = [env.target("torture_fork")]
TICKS = [env.target("torture_crash"), "run", "200", "40"]
PLAIN = {}


def plain(argv):
    key = tuple(argv)
    if key not in PLAIN:
        PLAIN[key] = subprocess.run(argv, capture_output=True, timeout=120, cwd=env.tmp)
    return PLAIN[key]


def exact(argv, rep):
    """The figures a complete recording of argv has (None: not checked for argv)."""
    if argv is HOOKS:
        return rep["summary"].get("alloc_calls") == 24
    if argv is THREADS:
        f = figures(rep, "mt_alloc")
        return (f["alloc_calls"], f["free_calls"]) == (2000 * 64, 2000 * 64)
    if argv is TICKS:
        return figures(rep, "crash_alloc", "malloc")["alloc_calls"] == 200
    return None


def one(argv, fault, extra=None):
    what = "%s %s" % (os.path.basename(argv[0]), fault)
    rec = os.path.join(env.tmp, "f.hsr")
    for f in os.listdir(env.tmp):
        if f.startswith("f.hsr"):
            os.unlink(os.path.join(env.tmp, f))
    e = dict(HEAPSCOPE_OUTPUT=rec, HEAPSCOPE_FAULT=fault, **(extra or {}))
    try:
        p = env.preload(argv, e, timeout=120)
    except subprocess.TimeoutExpired:
        fail(what + ": hung")
        return
    base = plain(argv)
    own = [l for l in p.stderr.splitlines() if not l.startswith(b"heapscope:")]
    said = [l for l in p.stderr.splitlines() if l.startswith(b"heapscope:")]
    ok = p.returncode == base.returncode and p.stdout == base.stdout and \
        own == base.stderr.splitlines()
    if not ok:
        fail("%s: program changed: status %d (want %d), stdout %r" %
             (what, p.returncode, base.returncode, p.stdout[:200]))
    if len(set(said)) != len(said) or len(said) > 4:
        fail("%s: messages repeated or too many: %r" % (what, said))
    if os.path.exists(rec) and os.path.getsize(rec) > 0:
        r = subprocess.run([env.heapscope, "report", rec, "--format", "json", "--top", "0",
                            "--allocs"], capture_output=True, timeout=120)
        if r.returncode != 0:
            fail("%s: recording does not load: %s" % (what, r.stderr.decode()))
            return
        import json
        if not said and exact(argv, json.loads(r.stdout)) is False:
            fail("%s: figures not exact, and the agent said nothing" % what)
    elif not said:
        fail("%s: no recording and no message" % what)
    RUNS.append(what)


RUNS = []
for n in range(1, 13):
    for suffix in ("", "+"):
        one(HOOKS, "mmap:%d%s" % (n, suffix))
for n in (1, 2, 3, 5, 8, 12, 20, 30):
    one(THREADS, "mmap:%d" % n)
    one(THREADS, "mmap:%d+" % n)
for n in range(1, 5):
    one(HOOKS, "write:%d" % n)
    one(TICKS, "write:%d" % n, {"HEAPSCOPE_AUTOSAVE": "50ms"})
    one(TICKS, "write:%d+" % n, {"HEAPSCOPE_AUTOSAVE": "50ms"})
for n in (1, 2, 3, 6):
    one(HOOKS, "thread:%d" % n)
    one(FORK, "thread:%d" % n)
    one(FORK, "thread:%d+" % n)
one(THREADS, "mmap:4,write:1,thread:1")
print("ok: %d faulty runs, programs unchanged" % len(RUNS))
eq(len(RUNS), 24 + 16 + 12 + 12 + 1, "every faulty run checked")
finish(env)
