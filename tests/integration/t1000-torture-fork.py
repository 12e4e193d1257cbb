# SPDX-License-Identifier: MIT
"""Torture: a storm of 16 forks without exec (and 4 grandchildren) while a second thread
keeps allocating, children ending with exit() and _exit() (tests/torture/torture_fork.c):
no deadlock, output and statuses unchanged, one complete recording per process with its
exact leak, each child's naming its parent. Then the storm 30 times under --check=guard
and 10 under --check: a fork while the other thread held check mode's quarantine lock (it
does while it unmaps the pages of a block leaving the quarantine) gave a child that spun
for ever on that lock at its exit (1 run in 10 to 20 under --check=guard). And 3 times
with a third thread running leak scans back to back: a child forked while a scan held its
lock spun on it in its own exit's scan (every run)."""
import glob
import os
import signal
import subprocess
from hstest import Env, eq, check, finish
from hstorture import same_as_plain, leaks_by_function

env = Env()
NCHILD = 16
proc, rec = same_as_plain(env, [env.target("torture_fork")])
eq(proc.stdout, b"fork storm done: %d children, status sum %d\n"
   % (NCHILD, sum(i % 3 for i in range(NCHILD))), "children's statuses")

parent = env.report(rec, "--allocs")
ppid = parent["recording"]["pid"]
leaks = leaks_by_function(env, rec)
eq(leaks.get("parent_leak"), 7, "parent's leak")
eq(leaks.get("child_work"), None, "no child's leak in the parent")
bg = [s for s in parent["stacks"] if s["frames"] and s["frames"][0]["function"] == "bg_churn"]
check(bg and sum(s["alloc_calls"] for s in bg) > 0, "the other thread allocated meanwhile")
eq(sum(s["live_blocks"] for s in bg), 0, "and freed everything (in the parent)")

others = sorted(glob.glob(rec + ".*"))
eq(len(others), NCHILD + len(range(0, NCHILD, 4)), "one recording per child and grandchild")
children, grandchildren = set(), set()
for path in others:
    r = env.report(path, "--leaks")
    check(not r["recording"]["truncated"], "%s complete" % os.path.basename(path))
    lk = leaks_by_function(env, path)
    if "grandchild_work" in lk:
        i = lk["grandchild_work"] - 1000
        grandchildren.add(i)
        eq(lk.get("child_work"), 100 + i, "grandchild %d inherited its parent's leak" % i)
    else:
        children.add(lk.get("child_work", 0) - 100)
        eq(r["recording"]["ppid"], ppid, "child %s: parent pid" % os.path.basename(path))
        check(any("forked from process %d" % ppid in m.get("text", "")
                  for m in r.get("messages", [])), "child says which process it forked from")
    eq(lk.get("parent_leak"), None, "no parent leak in %s" % os.path.basename(path))
eq(children, set(range(NCHILD)), "every child's own leak, 100 + i bytes")
eq(grandchildren, set(range(0, NCHILD, 4)), "every grandchild's own leak, 1000 + i bytes")


def kill_session(sid):
    """SIGKILL every process of session sid (heapscope run puts the program in a process
    group of its own, but not in another session)."""
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:
                os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def storm_ends(opts, runs, args=()):
    """The storm `runs` times under opts: each ends within 30 s, as it does without."""
    bad = []
    for i in range(runs):
        rec = os.path.join(env.tmp, "again.hsr")
        p = subprocess.Popen([env.heapscope, "run", "--no-summary", "-o", rec] + list(opts) +
                             ["--", env.target("torture_fork")] + list(args),
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=env.tmp, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            kill_session(p.pid)	# the waiter, the program and its children
            p.communicate()
            bad.append((i, "hung"))
            continue
        if (p.returncode, out) != (0, proc.stdout):
            bad.append((i, p.returncode, out))
        for f in glob.glob(rec + "*"):
            os.remove(f)
    eq(bad, [], "fork storm %d times under %s: no hang, output unchanged"
       % (runs, " ".join(opts + tuple(args))))


storm_ends(("--check=guard", "--leak-check=none"), 30)
storm_ends(("--check", "--leak-check=none"), 10)
storm_ends((), 3, ("scan",))
finish(env)
