# SPDX-License-Identifier: MIT
"""The HTML report and the SVG flame graph in headless Chromium (html-check.js, with
playwright-core): no console errors, no network requests, the flame graph draws, a click
zooms, search highlights, a table sorts; screenshots are kept in
build/tests/t0520-screenshots.
Also the page's embedded data against the JSON report, and pruning on a big recording."""
import json
import os
import re
import shutil
import subprocess

from hstest import Env, eq, check, finish

env = Env()
here = os.path.dirname(os.path.abspath(__file__))
# no leak scan: the leaks view is every block live at the end (hooks_c keeps its
# blocks in globals: still reachable, not lost)
proc, rec = env.run([env.target("hooks_c")], opts=["--leak-check=none"])
eq(proc.returncode, 7, "hooks_c ran")
html = os.path.join(env.tmp, "report.html")
svg = os.path.join(env.tmp, "flame.svg")
r = env.text("report", rec, "--leaks", "--format", "html", "-o", html)
eq(r.returncode, 0, "report --format html")
r = env.text("report", rec, "--leaks", "--format", "svg", "-o", svg)
eq(r.returncode, 0, "report --format svg")


def page_data(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'<script type="application/json" id="hs-data">\n(.*?)\n</script>', text, re.S)
    return text, json.loads(m.group(1)) if m else {}


text, data = page_data(html)
js = env.report(rec, "--leaks")
eq(data.get("flame", {}).get("total"), js["summary"]["live_bytes"], "flame graph total")
eq(data["summary"]["peak_bytes"], js["summary"]["peak_bytes"], "page's peak")
eq([t["view"] for t in data["tables"]], ["leaks", "peak", "allocs", "temporary"], "a table per view")
eq(len(data["tables"][0]["rows"]), js["view_stacks"], "leaks table rows")
check(not re.search(r'(src|href)="(?!#)', text), "no outside resources referenced")
check("Content-Security-Policy" in text, "the page forbids network access itself")

# Big recordings: nodes below 0.1% are pruned, and the page says so. The golden recording's
# scratch() holds 50 B of 50.6 kB allocated: below 0.1%.
golden = os.path.join(here, "..", "data", "golden")
big = os.path.join(env.tmp, "golden.html")
r = env.text("report", os.path.join(golden, "golden.hsr"), "--allocs", "--format", "html",
             "-o", big, "--sysroot", env.tmp, "--debug-dir", os.path.join(golden, "debug"))
_, gdata = page_data(big)
f = gdata.get("flame", {})
eq((f.get("nodes_pruned"), f.get("nodes_kept")), (1, 10), "golden: scratch pruned")
check("scratch" not in gdata.get("flame", {}).get("names", []), "pruned name left out")

node = shutil.which("node")
if not node:
    print("skip: node is not installed (scripts/install-deps.sh installs it)")
    finish(env)
    raise SystemExit(0)
# Screenshots outlive the test's temporary directory: build/tests/t0520-screenshots.
shots = os.path.join(env.build, "tests", "t0520-screenshots")
shutil.rmtree(shots, ignore_errors=True)
os.makedirs(shots)
run = subprocess.run([node, os.path.join(here, "html-check.js"), html, shots, "leak_pvalloc", svg],
                     capture_output=True, timeout=240)
if run.returncode == 3:
    print(run.stdout.decode().strip())
    finish(env)
    raise SystemExit(0)
eq(run.returncode, 0, "html-check.js ran")
try:
    res = json.loads(run.stdout)
except ValueError:
    res = {}
    print(run.stdout.decode(), run.stderr.decode())
eq(res.get("error"), None, "browser checks completed")
eq(res.get("console_errors"), [], "no console errors")
eq(res.get("network"), [], "no network requests")
nodes = len(data["flame"]["nodes"])
eq(res.get("frames"), nodes, "flame graph draws every node")
check(res.get("peak_marker"), "heap chart marks the peak")
check(res.get("chart_points", 0) >= 3, "heap chart has a line")
check(res.get("width_after", 0) > 4 * res.get("width_before", 1e9),
      "click zooms: %s -> %s" % (res.get("width_before"), res.get("width_after")))
eq(res.get("width_reset"), res.get("width_before"), "reset zoom restores")
eq(res.get("matches"), ["leak_pvalloc"], "search highlights the frame")
check("10.47%" in res.get("matched_text", ""), "search says how much matched")
initial = res.get("sort_initial", [])
eq(res.get("sort_initial_aria"), "descending", "table sorted by its view's figure")
eq(initial, sorted(initial, reverse=True), "initial order: largest first")
eq(res.get("sort_first"), sorted(initial), "click on the header sorts ascending")
eq(res.get("sort_first_aria"), "ascending", "aria-sort follows")
eq(res.get("sort_second"), initial, "second click sorts descending again")
eq(res.get("svg_frames"), nodes, "svg flame graph: every node")
check(res.get("svg_width_after", 0) > 4 * res.get("svg_width_before", 1e9), "svg: click zooms")
eq(res.get("svg_matches"), 1, "svg: search highlights")
for s in res.get("screenshots", []):
    check(os.path.getsize(s) > 1000, "screenshot %s is an image" % s)
check(not any("\u00b1" in c for c in res.get("cards", [])), "exact figures: no margins")

# A sampled recording: its byte figures carry their 95% margins, the same as in JSON.
proc, srec = env.run([env.target("hooks_c")], rec_name="sampled.hsr",
                     opts=["--leak-check=none", "--sample", "4k"])
eq(proc.returncode, 7, "hooks_c ran sampled")
shtml = os.path.join(env.tmp, "sampled.html")
r = env.text("report", srec, "--leaks", "--format", "html", "-o", shtml)
eq(r.returncode, 0, "report --format html, sampled")
_, sdata = page_data(shtml)
sjs = env.report(srec, "--leaks")
eq((sdata["summary"].get("peak_bytes_margin"), sdata["summary"].get("live_bytes_margin")),
   (sjs["summary"]["peak_bytes_margin"], sjs["summary"]["live_bytes_margin"]),
   "sampled page: the summary's margins as in JSON")
eq([r.get("live_bytes_margin") for r in sdata["tables"][0]["rows"]],
   [s["live_bytes_margin"] for s in sjs["stacks"]][:len(sdata["tables"][0]["rows"])],
   "sampled page: each row's margin as in JSON")
shots2 = os.path.join(shots, "sampled")
os.makedirs(shots2)
run = subprocess.run([node, os.path.join(here, "html-check.js"), shtml, shots2, "main", svg],
                     capture_output=True, timeout=240)
try:
    res2 = json.loads(run.stdout)
except ValueError:
    res2 = {}
eq(res2.get("console_errors"), [], "sampled page: no console errors")
cards = [c for c in res2.get("cards", []) if c.startswith("peak heap")]
check(cards and "\u00b1" in cards[0], "sampled page: the peak card shows its margin (%r)" % cards)
finish(env)
