# SPDX-License-Identifier: MIT
"""pprof output read back by real decoders: the npm package pprof-format (pprof-decode.js)
and, where Go is installed, `go tool pprof`. Sample types, default types, totals equal to
the JSON report's figures for every view, locations per address with inline Lines,
functions per (name, file), mappings with build-ids; refused on a terminal."""
import json
import os
import pty
import shutil
import subprocess

from hstest import Env, eq, check, fail, finish

env = Env()
here = os.path.dirname(os.path.abspath(__file__))
golden = os.path.join(here, "..", "data", "golden")
node = shutil.which("node")
if not node:
    print("skip: node is not installed (scripts/install-deps.sh installs it)")
    finish(env)
    raise SystemExit(0)


def pprof(rec, name, *args):
    out = os.path.join(env.tmp, name + ".pb.gz")
    proc = env.text("report", rec, "--format", "pprof", "-o", out, *args)
    if not check(proc.returncode == 0, "report %s --format pprof: %s" % (name, proc.stderr)):
        return None, proc
    dec = subprocess.run([node, os.path.join(here, "pprof-decode.js"), out],
                         capture_output=True, timeout=120)
    if dec.returncode == 3:
        print(dec.stdout.decode().strip())
        finish(env)
        raise SystemExit(0)
    if not check(dec.returncode == 0, "pprof-decode %s: %s" % (name, dec.stderr.decode())):
        return None, proc
    return json.loads(dec.stdout), proc


# no leak scan: the leaks view is every block live at the end (hooks_c keeps its
# blocks in globals: still reachable, not lost)
proc, rec = env.run([env.target("hooks_c")], opts=["--leak-check=none"])
eq(proc.returncode, 7, "hooks_c ran")
DEFAULT = {"leaks": "inuse_space", "peak": "inuse_space", "allocs": "alloc_space",
           "temporary": "alloc_objects"}
for view, default in DEFAULT.items():
    p, out = pprof(rec, view, "--" + view)
    if p is None:
        continue
    js = env.report(rec, "--" + view)
    at = "peak" if view == "peak" else "live"
    want = [sum(s["alloc_calls"] for s in js["stacks"]),
            sum(s["alloc_bytes"] for s in js["stacks"]),
            sum(s[at + "_blocks"] for s in js["stacks"]),
            sum(s[at + "_bytes"] for s in js["stacks"])]
    eq(p["sample_types"], ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
                           "inuse_space/bytes"], view + ": sample types")
    eq(p["default_sample_type"], default, view + ": default sample type")
    eq(p["totals"], want, view + ": totals = JSON report's")
    eq(len(p["samples"]), js["view_stacks"], view + ": one sample per stack")
    eq(p["distinct_addresses"], p["nlocations"], view + ": one location per address")
    eq(p["distinct_functions"], p["nfunctions"], view + ": one function per (name, file)")
    check("other views:" in out.stderr.decode(), view + ": tells the other views")

p, _ = pprof(rec, "leaks-again", "--leaks")
js = env.report(rec, "--leaks")
if p:
    eq(p["totals"][3], js["summary"]["live_bytes"], "inuse_space = live bytes at the end")
    exe = [m for m in js["modules"] if m["path"].endswith("/hooks_c")]
    if check(exe, "JSON names the hooks_c module"):
        eq((p["mappings"][0]["filename"], p["mappings"][0]["build_id"]),
           (exe[0]["path"], exe[0]["build_id"]), "first mapping: the program, with build-id")
    pv = [s for s in p["samples"] if s["labels"].get("allocator") == "pvalloc"]
    if check(len(pv) == 1, "one pvalloc sample"):
        leaf = pv[0]["locations"][0]["frames"][0]
        eq((leaf["function"], os.path.basename(leaf["file"]), pv[0]["values"]),
           ("leak_pvalloc", "hooks_c.c", [1, 900, 1, 900]), "pvalloc sample's leaf and values")
        eq(pv[0]["locations"][1]["frames"][0]["function"], "main", "its caller")
    m0 = p["mappings"][0]
    for s in p["samples"]:
        for loc in s["locations"]:
            if loc["frames"] and loc["frames"][-1]["function"] == "main":
                check(m0["start"] <= loc["address"] < m0["limit"],
                      "main's address lies in the program's mapping")
    p_peak, _ = pprof(rec, "peak-again", "--peak")
    if p_peak:
        eq(p_peak["totals"][3], env.report(rec, "--peak")["summary"]["peak_bytes"],
           "peak: inuse_space = the peak")

# Inline frames: golden.c's node_new is inlined into build_tree (two Lines, innermost first).
grec = os.path.join(golden, "golden.hsr")
p, _ = pprof(grec, "golden", "--allocs", "--sysroot", os.path.join(env.tmp, "none"),
             "--debug-dir", os.path.join(golden, "debug"))
if p:
    eq(p["totals"], [13, 50000 + 300 + 256 + 50, 7, 556], "golden totals")
    chains = [[f["function"] for f in s["locations"][0]["frames"]] for s in p["samples"]]
    eq(chains.count(["node_new", "build_tree"]), 2, "inline chain node_new -> build_tree")
    eq(sorted(s["labels"].get("temporary", 0) for s in p["samples"]), [0, 0, 0, 1, 5],
       "temporary label")

# Binary data is not written to a terminal.
pid, fd = pty.fork()
if pid == 0:
    os.execv(env.heapscope, [env.heapscope, "report", rec, "--format", "pprof"])
out = b""
try:
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
_, status = os.waitpid(pid, 0)
eq(os.waitstatus_to_exitcode(status), 2, "pprof to a terminal: usage error")
check(b"binary" in out and b"-o FILE" in out, "pprof to a terminal says why: %r" % out)

go = shutil.which("go")
if go:
    f = os.path.join(env.tmp, "leaks.pb.gz")
    top = subprocess.run([go, "tool", "pprof", "-top", "-sample_index=inuse_space", f],
                         capture_output=True, timeout=240, cwd=env.tmp,
                         env=dict(os.environ, HOME=env.tmp, PPROF_BINARY_PATH=env.tmp))
    text = top.stdout.decode()
    eq(top.returncode, 0, "go tool pprof -top")
    check("Total samples = %dB" % js["summary"]["live_bytes"] in text,
          "go pprof total: %s" % text[:400])
    check(any(l.split()[0] == "900B" and l.endswith("leak_pvalloc") for l in text.splitlines()
              if l.strip()), "go pprof: leak_pvalloc flat 900B")
else:
    print("note: go is not installed; go tool pprof not run")
finish(env)
