# SPDX-License-Identifier: MIT
"""Torture: setuid and setgid programs are left alone. A copy of a program made setuid
root (then setgid root) and run by an unprivileged user with LD_PRELOAD set: the loader
ignores the agent in secure mode, so the program runs normally with its privileges and
no recording is written. A plain copy run the same way by the same user is recorded (so
the test would notice if the agent were loaded). Needs root (to chown and to switch
users with setpriv); skips, saying so, otherwise."""
import os
import shutil
import subprocess
from hstest import Env, eq, check, finish

env = Env()
NOBODY = 65534
if os.geteuid() != 0 or not shutil.which("setpriv"):
    print("skip: needs root and setpriv")
    finish(env)
    raise SystemExit(0)

os.chmod(env.tmp, 0o755)
out = os.path.join(env.tmp, "out")
os.mkdir(out)
os.chmod(out, 0o1777)


def run_as_nobody(prog, name):
    """prog as nobody, with the agent preloaded into prog only (setpriv itself drops
    privileges with per-thread capability calls: t1002-privdrop.py covers that)."""
    rec = os.path.join(out, name + ".hsr")
    p = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                        "--clear-groups", "/usr/bin/env", "LD_PRELOAD=" + env.agent,
                        "HEAPSCOPE_OUTPUT=" + rec, prog], capture_output=True, timeout=60,
                       cwd=out)
    return p, rec


def install(mode, name):
    path = os.path.join(env.tmp, name)
    shutil.copy(env.target("torture_setuid"), path)
    os.chown(path, 0, 0)
    os.chmod(path, mode)
    return path


p, rec = run_as_nobody(install(0o755, "plain"), "plain")
eq(p.returncode, 0, "plain copy: exit status")
ids = "uid %d euid %d gid %d egid %d\n" % (NOBODY, NOBODY, NOBODY, NOBODY)
eq(p.stdout.decode(), ids, "plain copy: runs as nobody")
if not check(os.path.exists(rec), "plain copy: recorded (the agent loads for nobody)"):
    print(p.stderr.decode())
for mode, name, expect_ids in (
        (0o4755, "setuid", "uid %d euid 0 gid %d egid %d\n" % (NOBODY, NOBODY, NOBODY)),
        (0o2755, "setgid", "uid %d euid %d gid %d egid 0\n" % (NOBODY, NOBODY, NOBODY))):
    p, rec = run_as_nobody(install(mode, name), name)
    eq(p.returncode, 0, name + ": exit status")
    eq(p.stdout.decode(), expect_ids, name + ": runs with its privileges")
    eq(p.stderr, b"", name + ": nothing on stderr")
    eq(sorted(f for f in os.listdir(out) if f.startswith(name)), [],
       name + ": no recording written")
finish(env)
