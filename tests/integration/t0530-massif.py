# SPDX-License-Identifier: MIT
"""massif.out read by valgrind's ms_print: the peak snapshot is detailed, with the figures
of the JSON report; the exit snapshot's tree holds the leaks."""
import os
import re
import shutil
import subprocess

from hstest import Env, eq, check, finish

env = Env()
proc, rec = env.run([env.target("hooks_c")])
eq(proc.returncode, 7, "hooks_c ran")
out = os.path.join(env.tmp, "massif.out")
r = env.text("report", rec, "--format", "massif", "-o", out)
eq(r.returncode, 0, "report --format massif")
js = env.report(rec, "--peak")
with open(out) as f:
    text = f.read()
lines = text.splitlines()
eq(lines[2], "time_unit: ms", "time unit")
shots = re.findall(r"snapshot=(\d+)\n#-+\ntime=(\d+)\nmem_heap_B=(\d+)\nmem_heap_extra_B=0\n"
                   r"mem_stacks_B=0\nheap_tree=(\w+)\n", text)
check(len(shots) >= 3, "snapshots: %d" % len(shots))
eq([int(s[0]) for s in shots], list(range(len(shots))), "snapshots numbered in order")
times = [int(s[1]) for s in shots]
eq(times, sorted(times), "times never go back")
peak = [s for s in shots if s[3] == "peak"]
if check(len(peak) == 1, "one peak snapshot"):
    eq(int(peak[0][2]), js["summary"]["peak_bytes"], "peak snapshot's heap")
m = re.search(r"heap_tree=peak\nn\d+: (\d+) \(heap allocation functions\)", text)
eq(int(m.group(1)) if m else None, sum(s["peak_bytes"] for s in js["stacks"]), "peak tree root")
hold = [s["peak_bytes"] for s in js["stacks"] if s["frames"][0]["function"] == "hold_peak"]
hold = hold[0] if hold else -1
m = re.search(r"\n n\d+: %d 0x[0-9A-F]+: hold_peak \(hooks_c\.c:\d+\)\n  n0: %d "
              r"0x[0-9A-F]+: main \(hooks_c\.c:\d+\)\n" % (hold, hold), text)
check(m, "peak tree: hold_peak called by main holds %d B, as in JSON" % hold)
detailed = [s for s in shots if s[3] == "detailed"]
if check(detailed, "the exit snapshot is detailed"):
    eq(int(detailed[-1][2]), js["summary"]["live_bytes"], "exit snapshot's heap")

ms_print = shutil.which("ms_print")
if not ms_print:
    print("skip: ms_print is not installed (valgrind; scripts/install-deps.sh installs it)")
    finish(env)
    raise SystemExit(0)
p = subprocess.run([ms_print, out], capture_output=True, timeout=120)
eq(p.returncode, 0, "ms_print reads it")
o = p.stdout.decode()
m = re.search(r"Detailed snapshots: \[([^\]]*)\]", o)
check(m and "(peak)" in m.group(1), "ms_print finds the peak: %s" % (m and m.group(1)))
check(re.search(r"\(%sB\) 0x[0-9A-F]+: hold_peak \(hooks_c\.c:\d+\)" % format(hold, ","), o),
      "ms_print shows hold_peak's bytes")
check("%s" % format(js["summary"]["peak_bytes"], ",") in o, "ms_print shows the peak total")
finish(env)
