# SPDX-License-Identifier: MIT
"""Leak suppressions in LeakSanitizer's syntax: by function, by library with a wildcard,
--gen-suppressions read back by --suppressions, --error-exitcode with and without them,
and bad files (one message, exit status 2). The target (leak_kinds mixed LIB) loses 10
blocks of 100 from leak_direct() and 2 blocks of 500 from leaky_inner() in libleaky.so;
figures are taken over those stacks (the dynamic loader's own blocks from dlopen are
left aside)."""
import os
from hstest import Env, eq, check, finish

env = Env()
PROG = env.target("leak_kinds")
LIB = env.target("libleaky.so")
OWN = ("leak_kinds", "libleaky.so")


def supp_file(name, text):
    path = os.path.join(env.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def own_lost(rep):
    """(bytes, blocks) lost in the program's and the library's stacks, by module."""
    out = {}
    for s in rep["stacks"]:
        mod = os.path.basename((s["frames"][0]["module"] or "") if s["frames"] else "")
        if mod in OWN and s.get("leak"):
            lk = s["leak"]
            b = out.get(mod, (0, 0))
            out[mod] = (b[0] + lk["definitely_lost_bytes"] + lk["possibly_lost_bytes"],
                        b[1] + lk["definitely_lost_blocks"] + lk["possibly_lost_blocks"])
    return out


proc, rec = env.run([PROG, "mixed", LIB], rec_name="mixed.hsr")
eq(proc.returncode, 0, "mixed: exit status")
rep = env.report(rec, "--leaks")
eq(own_lost(rep), {"leak_kinds": (1000, 10), "libleaky.so": (1000, 2)}, "no suppressions")
eq(rep["leak_summary"]["suppressed"], {"bytes": 0, "blocks": 0}, "nothing suppressed")

# by function, with comments and blank lines around
by_fn = supp_file("fn.supp", "# the direct leaks\n\n   leak:leak_direct   \n")
rep = env.report(rec, "--leaks", "--suppressions", by_fn)
eq(own_lost(rep), {"libleaky.so": (1000, 2)}, "by function: leak_direct's stack is gone")
eq(rep["leak_summary"]["suppressed"], {"bytes": 1000, "blocks": 10}, "by function: counted")
# by library, with a wildcard (matches the module's path)
by_lib = supp_file("lib.supp", "leak:libleak*.so\n")
rep = env.report(rec, "--leaks", "--suppressions", by_lib)
eq(own_lost(rep), {"leak_kinds": (1000, 10)}, "by library: libleaky's stacks are gone")
eq(rep["leak_summary"]["suppressed"], {"bytes": 1000, "blocks": 2}, "by library: counted")
# anchored patterns: ^ and $ as LSan has them; a pattern that matches nothing
rep = env.report(rec, "--leaks", "--suppressions",
                 supp_file("anch.supp", "leak:^leak_dir\nleak:inner$\nleak:^direct\n"))
eq(own_lost(rep), {}, "anchored: both suppressed")
rep = env.report(rec, "--leaks", "--suppressions", supp_file("none.supp", "leak:no_such_fn\n"))
eq(rep["leak_summary"]["suppressed"], {"bytes": 0, "blocks": 0}, "no match: nothing suppressed")

# the run summary with suppressions
proc, rec2 = env.run([PROG, "mixed", LIB], opts=["--suppressions", by_fn], rec_name="m2.hsr")
err = proc.stderr.decode()
check("suppressed: 1,000 bytes in 10 blocks" in err, "run: suppressed in the LEAK SUMMARY")
check("leak_direct (leak_kinds.c:" not in err.split("peak:")[0], "run: not listed")

# --gen-suppressions: a file that --suppressions reads back, suppressing every leak
gen = env.text("report", rec, "--gen-suppressions")
eq(gen.returncode, 0, "gen-suppressions: exit status")
text = gen.stdout.decode()
check("leak:leak_direct\n" in text and "leak:leaky_inner\n" in text, "gen: one rule per leak")
check(all(l.startswith(("#", "leak:")) or not l.strip() for l in text.splitlines()),
      "gen: only comments and leak: lines")
gen_file = supp_file("gen.supp", text)
rep = env.report(rec, "--leaks", "--suppressions", gen_file)
eq(own_lost(rep), {}, "gen round trip: every leak of the program suppressed")
eq(rep["leak_summary"]["suppressed"]["blocks"] >= 12, True, "gen round trip: counted")

# --error-exitcode: definitely/possibly lost by default, after suppressions
proc, _ = env.run([PROG, "direct"], opts=["--error-exitcode=42"], rec_name="e1.hsr")
eq(proc.returncode, 42, "error-exitcode: leaks found")
proc, _ = env.run([PROG, "direct"], opts=["--error-exitcode=42", "--suppressions", by_fn],
                  rec_name="e2.hsr")
eq(proc.returncode, 0, "error-exitcode: all suppressed")
proc, _ = env.run([PROG, "global"], opts=["--error-exitcode=42"], rec_name="e3.hsr")
eq(proc.returncode, 0, "error-exitcode: still reachable is not an error by default")
proc, _ = env.run([PROG, "global"], opts=["--error-exitcode=42",
                                          "--errors-for-leak-kinds=reachable"], rec_name="e4.hsr")
eq(proc.returncode, 42, "error-exitcode: reachable when asked")
proc, _ = env.run([PROG, "direct"], opts=["--error-exitcode=42", "--no-summary"],
                  rec_name="e5.hsr")
eq((proc.returncode, b"LEAK SUMMARY" in proc.stderr), (42, False),
   "error-exitcode with --no-summary: status, no summary")
proc, _ = env.run([PROG, "bad-mode"], opts=["--error-exitcode=42"], rec_name="e6.hsr")
eq(proc.returncode, 2, "error-exitcode: no leak, the program's own status")

# bad files: one message, exit status 2, for report and for run (before the program runs)
long_line = supp_file("long.supp", "leak:" + "x" * 5000 + "\n")
cases = [
    ("/nonexistent/x.supp", "heapscope: cannot open '/nonexistent/x.supp': No such file "
     "or directory\n"),
    (supp_file("type.supp", "# ok\nrace:foo\n"),
     "type.supp:2: only 'leak:' suppressions are supported\n"),
    (supp_file("empty.supp", "leak:\n"), "empty.supp:1: empty pattern after 'leak:'\n"),
    (supp_file("junk.supp", "\x00\xff\xfe garbage\n"), "junk.supp:1: "),
    (long_line, "long.supp:1: line too long\n"),
]
for path, msg in cases:
    r = env.text("report", rec, "--suppressions", path)
    eq(r.returncode, 2, "report: bad file %s: exit status" % os.path.basename(path))
    err = r.stderr.decode(errors="replace")
    check(err.startswith("heapscope: ") and msg in err and err.count("\n") == 1,
          "report: bad file %s: one message (%r)" % (os.path.basename(path), err))
r = env.text("run", "--suppressions", cases[1][0], "--", PROG, "direct")
eq((r.returncode, r.stderr.decode().count("\n")), (2, 1), "run: bad file: exit 2, one line")
finish(env)
