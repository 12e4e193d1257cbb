# SPDX-License-Identifier: MIT
"""Before main, after exit, fork, exec, dlopen/dlclose: every image gets a recording with
exact leaks; frames of an unloaded library still symbolize."""
import glob
import os
from hstest import Env, eq, check, stacks_at, sum_field, finish

env = Env()
prog = env.target("lifecycle")


def leaks_by_function(rec):
    out = {}
    for s in env.report(rec, "--leaks")["stacks"]:
        fn = s["frames"][0]["function"] if s["frames"] else None
        out[fn] = out.get(fn, 0) + s["live_bytes"]
    return out


proc, rec = env.run([prog], rec_name="life.hsr")
eq(proc.returncode, 0, "exit status")
eq(proc.stdout, b"lifecycle done 0\n", "output")
parent = leaks_by_function(rec)
eq(parent.get("before_main_alloc"), 111, "allocation before main (constructor)")
eq(parent.get("at_exit_alloc"), 222, "allocation in an atexit handler")
eq(parent.get("parent_leak"), 555, "parent's own leak")
eq(parent.get("leaky_inner"), 666, "leak from the dlclosed library")
eq(parent.get("child_leak"), None, "the child's leak is not the parent's")
lib = [s for s in env.report(rec, "--leaks")["stacks"]
       if s["frames"] and s["frames"][0]["function"] == "leaky_inner"]
if check(lib, "leak stack in libleaky"):
    check((lib[0]["frames"][0]["module"] or "").endswith("libleaky.so"),
          "module of the unloaded library: %r" % lib[0]["frames"][0]["module"])
    eq(lib[0]["frames"][1]["function"], "leaky_alloc", "caller inside the library")
    check("run_dlopen" in [f["function"] for f in lib[0]["frames"]], "back in the program")

children = [p for p in glob.glob(os.path.join(env.tmp, "life.hsr.*"))]
if eq(len(children), 1, "one recording for the forked child"):
    child = leaks_by_function(children[0])
    eq(child.get("child_leak"), 333, "child's leak")
    eq(child.get("parent_leak"), 555, "inherited block still live in the child")
    eq(child.get("at_exit_alloc"), 222, "child ran the atexit handler too")
check(b"also recorded" in proc.stderr, "run lists the child's recording")

# exec: the first image ends at exec, the new image has its own recording.
proc, rec = env.run([prog, "exec"], rec_name="exec.hsr")
eq(proc.returncode, 5, "exit status of the exec'd image")
eq(proc.stdout, b"image2 done\n", "output of the exec'd image")
first = env.report(rec, "--leaks")
eq(first["recording"]["end_reason"], "exec", "first image ended by exec")
eq(leaks_by_function(rec).get("parent_leak"), 555, "first image's leak")
images = [p for p in glob.glob(os.path.join(env.tmp, "exec.hsr.*"))]
second = None
for p in images:
    r = env.report(p, "--leaks")
    if r["recording"]["pid"] == first["recording"]["pid"]:
        second = p
if check(second, "a recording for the exec'd image among %s" % images):
    eq(leaks_by_function(second).get("image2_leak"), 444, "leak in the new image")

# exec with an environment of its own (no LD_PRELOAD): heapscope run puts the agent back
proc, rec = env.run([prog, "execenv"], rec_name="execenv.hsr")
eq((proc.returncode, proc.stdout), (5, b"image2 done\n"), "execenv: the new image runs")
pid = env.report(rec)["recording"]["pid"]
second = [p for p in glob.glob(os.path.join(env.tmp, "execenv.hsr.*"))
          if env.report(p)["recording"]["pid"] == pid]
if check(second, "execenv: the new image has a recording"):
    eq(leaks_by_function(second[0]).get("image2_leak"), 444, "execenv: leak in the new image")
finish(env)
