# SPDX-License-Identifier: MIT
"""A static program linked with libheapscope_wrap.a and the --wrap options of
heapscope-wrap.flags (docs/CROSS.md) records the same leaks as the dynamic program under
the preloaded agent: same functions, allocators, bytes and blocks per function, same leak
categories, same callers. Skipped, saying so, where the C library has no libc.a."""
import os
import subprocess
from hstest import Env, eq, check, finish

env = Env()
cc = os.environ.get("CC", "cc")
libc_a = subprocess.run([cc, "-print-file-name=libc.a"], capture_output=True, text=True)
if not os.path.isabs(libc_a.stdout.strip()):
    print("skip: no static C library (libc.a) for %s" % cc)
    finish(env)
    raise SystemExit(0)

src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "targets", "hooks_c.c")
lib = os.path.join(env.build, "lib")
static = os.path.join(env.tmp, "hooks_c_static")
# The flags of tests/CMakeLists.txt's targets, then the documented link line.
link = subprocess.run([cc, "-g", "-O1", "-fno-inline-functions-called-once",
                       "-fno-omit-frame-pointer", "-Wno-unused-result", "-static", "-o", static,
                       src, "@" + os.path.join(lib, "heapscope-wrap.flags"), "-L" + lib,
                       "-lheapscope_wrap", "-lpthread"], capture_output=True, text=True)
check(link.returncode == 0 and not link.stderr, "static link without warnings: %s"
      % link.stderr.strip())

dyn, dyn_rec = env.run([env.target("hooks_c")], rec_name="dynamic.hsr")
st_rec = os.path.join(env.tmp, "static.hsr")
e = dict(os.environ)
e.pop("LD_PRELOAD", None)
e["HEAPSCOPE_OUTPUT"] = st_rec
st = subprocess.run([static], capture_output=True, env=e, cwd=env.tmp, timeout=120)
eq((st.returncode, st.stdout), (dyn.returncode, dyn.stdout), "static: exit status and output")
check(os.path.exists(st_rec), "the static program wrote its recording")


def own_leaks(rec, *extra):
    """{function: (allocator, bytes, blocks, caller, category figures)} for hooks_c's own."""
    out = {}
    for s in env.report(rec, "--leaks", *extra)["stacks"]:
        fr = [f.get("function") for f in s["frames"]]
        if not fr or not fr[0] or not fr[0].startswith("leak_"):
            continue
        out[fr[0]] = (s["allocator"], s["live_bytes"], s["live_blocks"], fr[1:2],
                      sorted(s.get("leak", {}).items()))
    return out


dyn_leaks = own_leaks(dyn_rec)
eq(len(dyn_leaks), 9, "dynamic run: the nine leak_* stacks")
eq(own_leaks(st_rec), dyn_leaks, "static run: the same leaks per function")


def leak_summary(rec):
    ls = env.report(rec, "--leaks").get("leak_summary") or {}
    ls.get("scan", {}).pop("time_s", None)
    return ls


eq(leak_summary(st_rec), leak_summary(dyn_rec), "static run: the same leak summary")

for view, fn in (("--temporary", "make_temporaries"), ("--peak", "hold_peak")):
    def figures(rec):
        return sorted((s["alloc_calls"], s["alloc_bytes"], s["temporary"], s["peak_bytes"])
                      for s in env.report(rec, view)["stacks"]
                      if s["frames"] and s["frames"][0].get("function") == fn)
    eq(figures(st_rec), figures(dyn_rec), "static run: %s of %s" % (view, fn))
finish(env)
