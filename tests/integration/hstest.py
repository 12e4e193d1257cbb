# SPDX-License-Identifier: MIT
"""Shared helpers for heapscope's integration tests.

Each test is a script run by CTest with the build directory as its argument. It runs tiny
target programs (build/tests/targets) under the real agent with `heapscope run`, reads the
recording back with `heapscope report --format json`, and asserts exact figures and frames.
"""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

FAILURES = []
CHILDREN = []     # long-running programs a test started: killed when the test ends


def _kill_children():
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_children)


class Env:
    def __init__(self):
        if len(sys.argv) < 2:
            sys.exit("usage: %s BUILD_DIR" % sys.argv[0])
        self.build = os.path.abspath(sys.argv[1])
        self.heapscope = os.path.join(self.build, "bin", "heapscope")
        self.agent = os.path.join(self.build, "lib", "libheapscope.so")
        self.targets = os.path.join(self.build, "tests", "targets")
        self.tmp = tempfile.mkdtemp(prefix="hs-test-")

    def target(self, name):
        return os.path.join(self.targets, name)

    def plain(self, argv, timeout=300, env=None):
        """Run a program without heapscope."""
        return subprocess.run(argv, capture_output=True, timeout=timeout, env=env,
                              cwd=self.tmp)

    def run(self, argv, opts=(), timeout=300, rec_name="rec.hsr", env=None):
        """Run argv under `heapscope run -o REC`; returns (completed process, REC)."""
        rec = os.path.join(self.tmp, rec_name)
        cmd = [self.heapscope, "run", "-o", rec] + list(opts) + ["--"] + list(argv)
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                              cwd=self.tmp)
        return proc, rec

    def preload(self, argv, env_extra, timeout=300):
        """Run argv with LD_PRELOAD=libheapscope.so and extra HEAPSCOPE_* variables."""
        env = dict(os.environ)
        env["LD_PRELOAD"] = self.agent
        env.update(env_extra)
        return subprocess.run(argv, capture_output=True, timeout=timeout, env=env,
                              cwd=self.tmp)

    def report(self, rec, *args, reachable=True):
        """`heapscope report REC --format json ARGS` as a dict. The leaks view lists every
        stack live at the end (--show-reachable: lost ones first, then still reachable
        ones), as it did before the leak scan; t0700 and t0730 test the lost-only list."""
        cmd = [self.heapscope, "report", rec, "--format", "json", "--top", "0"] + \
            (["--show-reachable"] if reachable else []) + list(args)
        proc = subprocess.run(cmd, capture_output=True, timeout=300)
        if proc.returncode != 0:
            fail("report %s failed (%d): %s" % (" ".join(args), proc.returncode,
                                                 proc.stderr.decode(errors="replace")))
            return {"stacks": [], "summary": {}}
        return json.loads(proc.stdout)

    def text(self, *args):
        cmd = [self.heapscope] + list(args)
        return subprocess.run(cmd, capture_output=True, timeout=300)

    def cleanup(self):
        if not FAILURES:
            shutil.rmtree(self.tmp, ignore_errors=True)


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    else:
        print("ok:", msg)
    return cond


def eq(actual, expected, what):
    if actual != expected:
        fail("%s: expected %r, got %r" % (what, expected, actual))
        return False
    print("ok: %s = %r" % (what, actual))
    return True


def functions(stack):
    return [f.get("function") for f in stack.get("frames", [])]


def first_function(stack):
    fr = stack.get("frames", [])
    return fr[0].get("function") if fr else None


def stacks_at(report, function):
    """Stacks whose innermost frame is in `function`."""
    return [s for s in report.get("stacks", []) if first_function(s) == function]


def sum_field(stacks, field):
    return sum(s.get(field, 0) for s in stacks)


def finish(env):
    env.cleanup()
    if FAILURES:
        print("%d failure(s); files kept in %s" % (len(FAILURES), env.tmp))
        sys.exit(1)
    print("all passed")
