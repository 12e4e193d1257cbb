# SPDX-License-Identifier: MIT
"""Integration scenarios for a cross-built agent, run under qemu-user.

usage: check.py ARCH CROSS_BUILD HOST_BUILD [SCENARIO...]

Runs test targets built for ARCH (aarch64 or armhf) in CROSS_BUILD under qemu-user with
LD_PRELOAD=libheapscope.so (the agent, built for ARCH), then reads each recording on this
machine with the host CLI (HOST_BUILD/bin/heapscope report --sysroot ...), as a recording
made on a board is read on a workstation. Asserts exact figures and frames, as the native
tests do. The sysroot is a directory of links: the cross C library's root for /lib and
/usr/lib, and the cross build directory at its own path. Called by tests/cross/run.sh.
Scenarios: hooks_c deep_nofp hooks_cxx stress_mt lifecycle signals (default: all).
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
from hstest import FAILURES, eq, check, stacks_at, sum_field  # noqa: E402

ARCHES = {
    "aarch64": ("qemu-aarch64", "aarch64-linux-gnu"),
    "armhf": ("qemu-arm", "arm-linux-gnueabihf"),
}


class Cross:
    def __init__(self, arch, cross_build, host_build):
        import tempfile
        self.arch = arch
        self.qemu, triple = ARCHES[arch]
        self.root = os.environ.get("HEAPSCOPE_CROSS_ROOT", "/usr/" + triple)
        self.build = os.path.abspath(cross_build)
        self.heapscope = os.path.join(os.path.abspath(host_build), "bin", "heapscope")
        self.agent = os.path.join(self.build, "lib", "libheapscope.so")
        self.tmp = tempfile.mkdtemp(prefix="hs-cross-%s-" % arch)
        self.sysroot = os.path.join(self.tmp, "sysroot")
        self.make_sysroot()

    def make_sysroot(self):
        """Links standing for the board's root: its libraries and the test programs."""
        os.makedirs(os.path.join(self.sysroot, "usr"))
        for d in ("lib", "usr/lib"):
            src = os.path.join(self.root, "lib")
            os.symlink(src, os.path.join(self.sysroot, d))
        at = os.path.join(self.sysroot, self.build.lstrip("/"))
        os.makedirs(os.path.dirname(at), exist_ok=True)
        os.symlink(self.build, at)

    def target(self, name):
        return os.path.join(self.build, "tests", "targets", name)

    def run(self, argv, rec_name, env_extra=None, timeout=240):
        """argv under qemu-user with the agent; HEAPSCOPE_OUTPUT = tmp/rec_name."""
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        env["HEAPSCOPE_OUTPUT"] = os.path.join(self.tmp, rec_name)
        # No agent thread: qemu-user 7.2 (Debian 12) aborts when the forked child of a
        # multi-threaded process starts a thread (cpu_exec: cpu == current_cpu), as a
        # child of the agent's control or autosave thread's process would.
        env["HEAPSCOPE_CONTROL"] = "0"
        env["HEAPSCOPE_AUTOSAVE"] = "0"
        env.update(env_extra or {})
        cmd = [self.qemu, "-L", self.root, "-E", "LD_PRELOAD=" + self.agent] + list(argv)
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                              cwd=self.tmp)
        return proc, os.path.join(self.tmp, rec_name)

    def report(self, rec, *args):
        """The JSON report; the leaks view lists every stack live at the end (as the
        native tests read it, see hstest.Env.report)."""
        import json
        cmd = [self.heapscope, "report", rec, "--format", "json", "--top", "0",
               "--show-reachable", "--sysroot", self.sysroot] + list(args)
        proc = subprocess.run(cmd, capture_output=True, timeout=300)
        if not check(proc.returncode == 0, "report %s %s" % (os.path.basename(rec),
                                                               " ".join(args))):
            print(proc.stderr.decode(errors="replace"))
            return {"stacks": [], "summary": {}, "modules": []}
        return json.loads(proc.stdout)


def functions(stack):
    return [f.get("function") for f in stack.get("frames", [])]


def scenario_hooks_c(x):
    proc, rec = x.run([x.target("hooks_c")], "hooks_c.hsr")
    eq(proc.returncode, 7, "hooks_c exit status")
    eq(proc.stdout, b"hooks_c done 9\n", "hooks_c output")
    leaks = x.report(rec, "--leaks")
    eq(leaks["recording"]["arch"], {"armhf": "arm"}.get(x.arch, x.arch), "recorded arch")
    expected = {
        "leak_malloc": ("malloc", 100), "leak_calloc": ("calloc", 200),
        "leak_realloc": ("realloc", 300), "leak_reallocarray": ("reallocarray", 400),
        "leak_memalign": ("memalign", 500), "leak_posix_memalign": ("posix_memalign", 600),
        "leak_aligned_alloc": ("aligned_alloc", 704), "leak_valloc": ("valloc", 800),
        "leak_pvalloc": ("pvalloc", 900),
    }
    for fn, (allocator, size) in expected.items():
        st = stacks_at(leaks, fn)
        if check(len(st) == 1, "hooks_c: one leak stack in %s (got %d)" % (fn, len(st))):
            eq((st[0]["allocator"], st[0]["live_bytes"], st[0]["live_blocks"]),
               (allocator, size, 1), fn + " allocator, bytes, blocks")
            eq(functions(st[0])[1:2], ["main"], fn + " caller")
            top = st[0]["frames"][0]
            check((top.get("file") or "").endswith("hooks_c.c") and top.get("line"),
                  fn + " has file and line: %s:%s" % (top.get("file"), top.get("line")))
    tmp = stacks_at(x.report(rec, "--temporary"), "make_temporaries")
    if check(len(tmp) == 1, "hooks_c: temporary stack"):
        eq((tmp[0]["alloc_calls"], tmp[0]["temporary"]), (10, 10), "temporaries")
    peak = x.report(rec, "--peak")["stacks"]
    eq(functions(peak[0])[:1] if peak else None, ["hold_peak"], "function holding the peak")


def scenario_deep_nofp(x):
    proc, rec = x.run([x.target("deep_nofp")], "deep.hsr")
    eq(proc.stdout, b"deep done 3\n", "deep_nofp output")
    rep = x.report(rec, "--allocs")

    def frames_of(size):
        st = [s for s in rep["stacks"] if s["alloc_bytes"] == size]
        return functions(st[0]) if check(len(st) == 1, "one stack of %d bytes" % size) else []

    chain = frames_of(5000)
    eq(chain[:6], ["level5", "level4", "level3", "level2", "level1", "main"],
       "chain without frame pointers")
    sort = frames_of(6000)
    eq(sort[:1], ["compare_and_alloc"], "qsort callback frame")
    check("sort_something" in sort and sort.index("sort_something") > 1 and
          any(f and ("qsort" in f or "msort" in f) for f in sort),
          "through libc's qsort back to the caller: %s" % sort)
    deep = frames_of(7000)
    eq((len(deep), set(deep)), (64, {"recurse"}), "64 frames of recurse")


def scenario_hooks_cxx(x):
    proc, rec = x.run([x.target("hooks_cxx")], "cxx.hsr")
    check(b"bad_alloc caught" in proc.stdout, "hooks_cxx: bad_alloc reached the program")
    leaks = x.report(rec, "--leaks")
    expected = {
        "leak_new()": ("operator new", 4 if x.arch == "armhf" else 8),  # a long
        "leak_new_array()": ("operator new[]", 300),
        "leak_new_nothrow()": ("operator new(nothrow)", 8),
        "leak_new_array_nothrow()": ("operator new[](nothrow)", 500),
        "leak_new_aligned()": ("operator new(align_val_t)", 128),
        "leak_new_array_aligned()": ("operator new[](align_val_t)", 384),
    }
    for fn, (allocator, size) in expected.items():
        st = stacks_at(leaks, fn)
        if check(len(st) == 1, "hooks_cxx: one leak stack in %s (got %d)" % (fn, len(st))):
            eq((st[0]["allocator"], st[0]["live_bytes"], st[0]["live_blocks"]),
               (allocator, size, 1), fn + " allocator, bytes, blocks")
            eq(functions(st[0])[1:2], ["main"], fn + " caller")
    pairs = stacks_at(x.report(rec, "--allocs"), "new_delete_pairs()")
    eq((sum_field(pairs, "alloc_calls"), sum_field(pairs, "free_calls")), (21, 21),
       "new_delete_pairs allocations and frees")


def scenario_stress_mt(x):
    ops = 20000
    proc, rec = x.run([x.target("stress_mt"), str(ops)], "mt.hsr")
    eq(proc.stdout, b"stress done: %d ops\n" % (ops * 8), "stress_mt output")
    blocks = stacks_at(x.report(rec, "--allocs"), "alloc_block")
    size = sum(16 + (i % 7) * 16 for i in range(ops)) * 8
    eq((sum_field(blocks, "alloc_calls"), sum_field(blocks, "free_calls"),
        sum_field(blocks, "alloc_bytes"), sum_field(blocks, "live_bytes")),
       (ops * 8, ops * 8, size, 0), "stress_mt alloc_block calls, frees, bytes, live")
    leaks = stacks_at(x.report(rec, "--leaks"), "leak_some")
    eq((sum_field(leaks, "live_blocks"), sum_field(leaks, "live_bytes")), (24, 24 * 24),
       "stress_mt leak_some")
    eq(set(functions(s)[1] for s in leaks), {"worker"}, "leak_some called by worker")


def leaks_by_function(x, rec):
    out = {}
    for s in x.report(rec, "--leaks")["stacks"]:
        fn = s["frames"][0]["function"] if s["frames"] else None
        out[fn] = out.get(fn, 0) + s["live_bytes"]
    return out


def scenario_lifecycle(x):
    proc, rec = x.run([x.target("lifecycle")], "life.%p.hsr")
    eq(proc.stdout, b"lifecycle done 0\n", "lifecycle output")
    recs = sorted(glob.glob(os.path.join(x.tmp, "life.*.hsr")))
    if not eq(len(recs), 2, "lifecycle: a recording for the parent and the forked child"):
        return
    by_pid = {}
    for r in recs:
        by_pid[x.report(r, "--leaks")["recording"]["pid"]] = r
    parent, child = [by_pid[p] for p in sorted(by_pid)]
    p = leaks_by_function(x, parent)
    eq((p.get("before_main_alloc"), p.get("at_exit_alloc"), p.get("parent_leak"),
        p.get("leaky_inner"), p.get("child_leak")), (111, 222, 555, 666, None),
       "parent: constructor, atexit, own and unloaded library's leaks")
    c = leaks_by_function(x, child)
    eq((c.get("child_leak"), c.get("parent_leak")), (333, 555), "forked child's leaks")


def scenario_signals(x):
    proc, rec = x.run([x.target("signals"), "200000"], "sig.hsr")
    m = re.match(rb"handled (\d+)\n", proc.stdout)
    if not check(m, "signals output: %r" % proc.stdout):
        return
    handled = int(m.group(1))
    leaks = stacks_at(x.report(rec, "--leaks"), "handler_alloc")
    eq(sum_field(leaks, "live_blocks"), handled, "one leak per handled signal")
    funcs = set()
    for s in leaks:
        funcs.update(functions(s))
    check({"on_alarm", "main"} <= funcs, "handler and interrupted main on the stacks: %s"
          % sorted(f for f in funcs if f))


SCENARIOS = {
    "hooks_c": scenario_hooks_c, "deep_nofp": scenario_deep_nofp,
    "hooks_cxx": scenario_hooks_cxx, "stress_mt": scenario_stress_mt,
    "lifecycle": scenario_lifecycle, "signals": scenario_signals,
}


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ARCHES:
        sys.exit(__doc__)
    x = Cross(sys.argv[1], sys.argv[2], sys.argv[3])
    for name in sys.argv[4:] or list(SCENARIOS):
        print("== %s on %s" % (name, x.arch))
        SCENARIOS[name](x)
    if FAILURES:
        print("%d failure(s) on %s; files kept in %s" % (len(FAILURES), x.arch, x.tmp))
        sys.exit(1)
    import shutil
    shutil.rmtree(x.tmp, ignore_errors=True)
    print("all passed on %s" % x.arch)


if __name__ == "__main__":
    main()
