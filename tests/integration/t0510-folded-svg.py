# SPDX-License-Identifier: MIT
"""Golden tests of the text-like formats (folded, top, tree) over a stored recording, and
checks of the SVG flame graph drawn from it.

tests/data/golden/golden.hsr is a recording of golden.c (whose own _start keeps every frame
in its binary); the binary is stored by build-id under tests/data/golden/debug, so reports
name the same functions, files and lines on any machine. With --regenerate, rewrites the
expected files instead (tests/data/golden/make.sh does that).
"""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from hstest import Env, eq, check, fail, finish

regenerate = "--regenerate" in sys.argv
if regenerate:
    sys.argv.remove("--regenerate")
env = Env()
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "golden")
rec = os.path.join(data, "golden.hsr")
empty_root = os.path.join(env.tmp, "empty-root")
os.makedirs(empty_root)


def report(*args):
    cmd = [env.heapscope, "report", rec, "--sysroot", empty_root,
           "--debug-dir", os.path.join(data, "debug")] + list(args)
    proc = subprocess.run(cmd, capture_output=True, timeout=120)
    if proc.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(args), proc.returncode, proc.stderr.decode()))
    return proc.stdout.decode()


CASES = {
    "leaks.folded": ["--leaks", "--format", "folded"],
    "allocs.folded": ["--allocs", "--format", "folded"],
    "temporary.folded": ["--temporary", "--format", "folded"],
    "peak.top": ["--peak", "--format", "top"],
    "allocs-calls.top": ["--allocs", "--sort", "calls", "--format", "top", "--top", "3"],
    "allocs.tree": ["--allocs", "--format", "tree"],
    "leaks-blocks.tree": ["--leaks", "--sort", "blocks", "--format", "tree"],
}

for name, args in CASES.items():
    path = os.path.join(data, "expected", name)
    out = report(*args)
    if regenerate:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(out)
        print("wrote", path)
        continue
    with open(path) as f:
        expected = f.read()
    if not eq(out, expected, "golden %s (heapscope report %s)" % (name, " ".join(args))):
        print("--- got:\n" + out)
if regenerate:
    sys.exit(0)

# The golden files themselves say what golden.c does.
folded = report("--leaks", "--format", "folded")
lines = dict(l.rsplit(" ", 1) for l in folded.splitlines())
eq(sum(int(v) for v in lines.values()), 3 * 100 + 4 * 64, "leaked bytes in folded stacks")
eq(lines.get("golden_start;golden_main;worker;build_tree;node_new"), "128",
   "inlined node_new under worker")
eq(lines.get("golden_start;golden_main;parse_config"), "300", "parse_config leaks")
temp = report("--temporary", "--format", "folded")
eq(temp, "golden_start;golden_main;load_cache 1\ngolden_start;golden_main;scratch 5\n",
   "temporary counts")
top = report("--peak", "--format", "top").splitlines()
check(any(re.search(r"50\.0 kB +98\.90% +98\.90% +50\.0 kB +98\.90%  load_cache$", l)
          for l in top), "load_cache holds 98.90% of the peak (flat = cum)")
check(any(re.search(r"^ +0 B +0\.00% +100\.00% +50\.6 kB +100\.00%  golden_main$", l)
          for l in top), "golden_main: flat 0, cum all")

# The SVG flame graph: well-formed, self-contained, one rect per node of the tree.
svg = report("--allocs", "--format", "svg")
try:
    root = ET.fromstring(svg)
except ET.ParseError as e:
    root = None
    fail("svg does not parse: %s" % e)
if root is not None:
    ns = "{http://www.w3.org/2000/svg}"
    frames = [g for g in root.iter(ns + "g") if g.get("class") == "frame"]
    # all, golden_start, golden_main, and below it parse_config, build_tree(node_new),
    # worker(build_tree(node_new)), load_cache, scratch: 11 nodes.
    eq(len(frames), 11, "frames drawn")
    titles = [g.find(ns + "title").text for g in frames]
    check(any(t.startswith("load_cache") and "50,000" in t for t in titles),
          "load_cache's hover title names its bytes")
    check(root.find(".//" + ns + "script") is not None, "svg carries its script")
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', svg)
    eq([h for h in hrefs if not h.startswith("#")], [], "no outside references")
    check("http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
          .replace('xmlns:xlink="http://www.w3.org/1999/xlink"', ""),
          "no URLs except the namespaces")
finish(env)
