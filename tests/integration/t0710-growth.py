# SPDX-License-Identifier: MIT
"""Growth for programs that never end: `report --growth` on the service (tests/targets/
service.c: leaks 1000 bytes per iteration amid churn, after a one-time start-up block).
With API checkpoints every 10 iterations the leak's stack comes first at exactly 10,000
bytes per snapshot; with periodic snapshots its rate per second matches the run's; churn
and the start-up block are never reported; fewer than 3 snapshots is said plainly."""
import os
from hstest import Env, eq, check, first_function, finish

env = Env()
SERVICE = env.target("service")


def growth(rec, *args):
    return env.report(rec, "--growth", *args).get("growth") or {}


# --- API checkpoints every 10 iterations: iter-10 .. iter-60, then exit -----------------
proc, rec = env.run([SERVICE, "60", "5", "api"], rec_name="api.hsr")
eq(proc.returncode, 0, "service exit status")
g = growth(rec)
eq(g.get("snapshots"), 7, "seven snapshots in the window")
eq(g.get("enough_snapshots"), True, "enough snapshots")
stacks = g.get("stacks", [])
eq([first_function(s) for s in stacks], ["leak_per_request"], "only the leak grows")
if stacks:
    s = stacks[0]
    eq(s["bytes_per_snapshot"], 10000.0, "10,000 bytes per snapshot (10 iterations of 1000)")
    eq((s["first_bytes"], s["last_bytes"]), (10000, 60000), "from iter-10 to the end")
    eq(s["confidence"], "high", "confidence")
    check(s["r2"] > 0.9 and s["monotonic"] == 1.0, "fit and monotonicity (%r, %r)" %
          (s["r2"], s["monotonic"]))
    check(s["bytes_per_second"] > 0, "a rate per second")
text = env.text("report", rec, "--growth").stdout.decode()
check("growth: 1 stack grows steadily over 7 snapshots" in text, "text: heading")
check("+10.0 kB per snapshot" in text and "confidence high" in text, "text: rate, confidence")
check("leak_per_request (service.c:" in text, "text: the stack, symbolized")
check("churn" not in text.split("growth:")[1].split("left out")[0], "text: no churn stack")

# --- periodic snapshots (the control thread may catch churn half done) ------------------
env_extra = dict(os.environ, HEAPSCOPE_INTERVAL="100ms")
proc, rec = env.run([SERVICE, "150", "8"], rec_name="periodic.hsr", env=env_extra)
rep = env.report(rec, "--growth")
g = rep.get("growth") or {}
snaps = rep["snapshots"]
check(g.get("snapshots", 0) >= 6, "periodic: enough snapshots (%r)" % g.get("snapshots"))
stacks = g.get("stacks", [])
fns = [first_function(s) for s in stacks]
check(fns[:1] == ["leak_per_request"], "periodic: the leak first (%r)" % fns)
check("churn" not in fns and "startup" not in fns, "periodic: no churn, no start-up block")
if stacks:
    # the leak's true rate: what leaked between the first and the last snapshot of the window
    first, last = snaps[g["first_seq"] - 1], snaps[-1]
    true_rate = ((last["live_bytes"] - first["live_bytes"]) /
                 (last["time_s"] - first["time_s"]))
    rate = stacks[0]["bytes_per_second"]
    check(abs(rate - true_rate) <= 0.25 * true_rate,
          "periodic: %.0f bytes/s against %.0f measured" % (rate, true_rate))
    check(stacks[0]["confidence"] in ("high", "medium"), "periodic: confident")

# --- too few snapshots --------------------------------------------------------------------
proc, rec = env.run([SERVICE, "5", "1"], rec_name="few.hsr")
g = growth(rec)
eq((g.get("snapshots"), g.get("enough_snapshots"), g.get("stacks")), (1, False, []),
   "one snapshot: not enough")
text = env.text("report", rec, "--growth").stdout.decode()
check("growth: needs at least 3 snapshots, the recording has 1" in text, "text: says so")
eq(env.report(rec)["growth"], None, "no --growth: growth is null")
finish(env)
