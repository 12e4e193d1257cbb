# SPDX-License-Identifier: MIT
"""Helpers for the torture tests (t1000-torture-*.py, docs/ROBUSTNESS.md): run a program
with and without heapscope and compare what the program itself says, then sum a report's
figures per function."""
import os
import subprocess
from hstest import eq, check

FIELDS = ("alloc_calls", "alloc_bytes", "free_calls", "live_bytes", "live_blocks")


def figures(report, function, allocator=None):
    """Sums of FIELDS over the stacks whose innermost frame is in `function`."""
    out = dict.fromkeys(FIELDS, 0)
    for s in report.get("stacks", []):
        fr = s.get("frames", [])
        if not fr or fr[0].get("function") != function:
            continue
        if allocator and s.get("allocator") != allocator:
            continue
        for f in FIELDS:
            out[f] += s.get(f, 0)
    return out


def expect(report, function, what, allocator=None, **expected):
    """Assert the given fields of figures(report, function) exactly."""
    got = figures(report, function, allocator)
    eq({k: got[k] for k in expected}, expected, "%s: %s" % (what, function))
    return got


def same_as_plain(env, argv, opts=(), rec_name="rec.hsr", timeout=120, stderr=True,
                  env_vars=None):
    """Run argv plainly and under `heapscope run`; the exit status, stdout and (unless
    stderr=False) the program's own stderr lines must be the same. Returns (proc, rec)."""
    e = dict(os.environ, **(env_vars or {}))
    plain = subprocess.run(argv, capture_output=True, timeout=timeout, cwd=env.tmp, env=e)
    proc, rec = env.run(argv, opts=("--no-summary",) + tuple(opts), rec_name=rec_name,
                        timeout=timeout, env=e)
    name = os.path.basename(argv[0])
    eq(proc.returncode, plain.returncode, name + ": exit status as without heapscope")
    eq(proc.stdout, plain.stdout, name + ": output as without heapscope")
    if stderr:
        own = [l for l in proc.stderr.splitlines() if not l.startswith(b"heapscope:")]
        eq(own, plain.stderr.splitlines(), name + ": own stderr as without heapscope")
    check(b"heapscope: error" not in proc.stderr and b"internal" not in proc.stderr,
          name + ": no agent error on stderr")
    return proc, rec


def leaks_by_function(env, rec):
    """{innermost function: live bytes} of the recording's leak view."""
    out = {}
    for s in env.report(rec, "--leaks")["stacks"]:
        fn = s["frames"][0]["function"] if s["frames"] else None
        out[fn] = out.get(fn, 0) + s["live_bytes"]
    return out
