# SPDX-License-Identifier: MIT
"""`heapscope diff`: per stack, what grew and what shrank between two snapshots of one
recording (matched by id) and between two recordings of the same program (matched by
allocator and function names, since stack ids differ across processes)."""
from hstest import Env, eq, check, first_function, finish
import json

env = Env()
SERVICE = env.target("service")


def diff(*args):
    proc = env.text("diff", *args, "--format", "json", "--top", "0")
    if proc.returncode != 0:
        eq(proc.returncode, 0, "diff %s: %s" % (" ".join(args), proc.stderr.decode()))
        return {"stacks": []}
    return json.loads(proc.stdout)


def by_function(d):
    return {first_function(s): s for s in d["stacks"]}


# --- two snapshots of one recording -----------------------------------------------------
proc, rec = env.run([SERVICE, "60", "2", "api"], rec_name="api.hsr")
d = diff(rec, "--from", "iter-10", "--to", "iter-50")
eq(d.get("matched_by"), "id", "one recording: matched by id")
eq((d["from"]["name"], d["to"]["name"]), ("iter-10", "iter-50"), "the two snapshots")
eq(d["delta"]["live_bytes"], 40000, "the live heap grew by 40 requests")
first = d["stacks"][0] if d["stacks"] else {}
eq(first_function(first), "leak_per_request", "the leak's stack first")
eq(first.get("delta"), {"live_bytes": 40000, "live_blocks": 40, "alloc_calls": 40,
                        "alloc_bytes": 40000}, "its change")
fns = by_function(d)
check("startup" not in fns, "the start-up block did not change: not listed")
churn = fns.get("churn", {}).get("delta", {})
eq((churn.get("live_bytes"), churn.get("alloc_calls")), (0, 40 * 16),
   "churn: allocated, nothing kept")
eq(d["grew"], {"bytes": 40000, "stacks": 1}, "grew")
eq(d["shrank"], {"bytes": 0, "stacks": 0}, "shrank")
d = diff(rec, "--snapshot", "1", "--snapshot", "last")
eq((d["from"]["seq"], d["to"]["reason"]), (1, "exit"), "--snapshot twice: seq, last")
eq(d["delta"]["live_bytes"], 50000, "iter-10 to the end: 50 requests")
d1 = diff(rec)
eq((d1["from"]["seq"], d1["to"]["seq"]), (1, len(env.report(rec)["snapshots"])),
   "one recording, no options: first to last snapshot")

# --- two recordings: stacks matched by function names ----------------------------------
proc, a = env.run([SERVICE, "20", "1"], rec_name="a.hsr")
proc, b = env.run([SERVICE, "50", "1"], rec_name="b.hsr")
d = diff(a, b)
eq(d.get("matched_by"), "functions", "two recordings: matched by function names")
leak = by_function(d).get("leak_per_request", {})
eq((leak.get("from", {}).get("live_bytes"), leak.get("to", {}).get("live_bytes")),
   (20000, 50000), "leak: live bytes on each side")
eq(leak.get("delta", {}).get("live_blocks"), 30, "leak: +30 blocks")
check(leak.get("from_id") is not None and leak.get("to_id") is not None,
      "leak: found on both sides")
eq(first_function(d["stacks"][0]) if d["stacks"] else None, "leak_per_request",
   "largest change first")
check("startup" not in by_function(d), "the start-up block is the same on both sides")
back = by_function(diff(b, a)).get("leak_per_request", {})
eq(back.get("delta", {}).get("live_bytes"), -30000, "reversed: it shrank")
text = env.text("diff", a, b).stdout.decode()
check("+30.0 kB live (+30 blocks)" in text, "text: the change")
check("leak_per_request (service.c:" in text, "text: the stack")
check("matched by allocator and function names" in text, "text: how stacks were matched")

# --- errors -------------------------------------------------------------------------------
r = env.text("diff", rec, "--from", "nosuch")
eq(r.returncode, 1, "unknown snapshot: exit 1")
check(b"has no snapshot 'nosuch'" in r.stderr, "unknown snapshot: says so")
eq(env.text("diff").returncode, 2, "no recording: usage error")
eq(env.text("diff", a, b, rec).returncode, 2, "three recordings: usage error")
finish(env)
