# SPDX-License-Identifier: MIT
"""Reachability at exit: the four categories of memcheck (definitely, indirectly, possibly
lost, still reachable), exactly, on programs with known truth (tests/targets/leak_kinds.c),
and equal to valgrind memcheck's figures when valgrind is installed.

What is compared with memcheck: the program's own stacks (whose innermost frame is in
leak_kinds), category by category, bytes and blocks; and the LEAK SUMMARY totals, except
in `thread` mode. There the C library allocates the new thread's DTV (calloc in
_dl_allocate_tls, from pthread_create): its size depends on how many modules have TLS
(the agent is one more than under valgrind: 304 bytes against 288), and the only pointer
to it is the thread descriptor's, which points one entry into the block, so memcheck
calls it possibly lost. That block is the loader's, not the program's, so the thread
mode compares the program's stacks only. Also checks --leak-check=summary|none and the
text LEAK SUMMARY."""
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from hstest import Env, eq, check, finish

env = Env()
PROG = env.target("leak_kinds")
KINDS = ["definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"]
TRUTH = {
    "direct": {"definitely_lost": (1000, 10)},
    "tree": {"definitely_lost": (48, 1), "indirectly_lost": (288, 6)},
    "global": {"still_reachable": (2080, 11)},
    "interior": {"possibly_lost": (256, 1)},
    "thread": {"still_reachable": (700, 2)},
    "clean": {},
}
REAL_PROG = os.path.realpath(PROG)


def truth(mode):
    return {k: TRUTH[mode].get(k, (0, 0)) for k in KINDS}


def own(stack):
    fr = stack.get("frames", [])
    return bool(fr) and fr[0].get("module") and os.path.realpath(fr[0]["module"]) == REAL_PROG


def heapscope_figures(mode):
    proc, rec = env.run([PROG, mode], rec_name="lk-%s.hsr" % mode)
    eq(proc.returncode, 0, "%s: exit status" % mode)
    rep = env.report(rec, "--leaks", "--show-reachable")
    ls = rep.get("leak_summary") or {}
    check(ls.get("classified") is True, "%s: the recording holds a scan" % mode)
    totals = {k: (ls[k]["bytes"], ls[k]["blocks"]) for k in KINDS if ls.get(k)}
    mine = {k: [0, 0] for k in KINDS}
    for s in rep["stacks"]:
        if not own(s) or not s.get("leak"):
            continue
        for k in KINDS:
            mine[k][0] += s["leak"][k + "_bytes"]
            mine[k][1] += s["leak"][k + "_blocks"]
    return {k: tuple(v) for k, v in mine.items()}, totals, proc


def memcheck_figures(mode):
    xml = os.path.join(env.tmp, "vg-%s.xml" % mode)
    subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all",
                    "--errors-for-leak-kinds=none", "--xml=yes", "--xml-file=" + xml, PROG,
                    mode], capture_output=True, timeout=300, cwd=env.tmp)
    names = {"Leak_DefinitelyLost": "definitely_lost", "Leak_IndirectlyLost": "indirectly_lost",
             "Leak_PossiblyLost": "possibly_lost", "Leak_StillReachable": "still_reachable"}
    mine = {k: [0, 0] for k in KINDS}
    totals = {k: [0, 0] for k in KINDS}
    for err in ET.parse(xml).getroot().iter("error"):
        kind = names.get(err.findtext("kind"))
        if not kind:
            continue
        nbytes = int(err.findtext("xwhat/leakedbytes"))
        blocks = int(err.findtext("xwhat/leakedblocks"))
        m = re.search(r"\(([\d,]+) direct, ([\d,]+) indirect\)", err.findtext("xwhat/text"))
        if m:   # a definitely lost record counts the blocks it holds: keep the direct bytes
            nbytes = int(m.group(1).replace(",", ""))
        frames = [f for f in err.iter("frame") if "vgpreload" not in (f.findtext("obj") or "")]
        is_own = frames and os.path.realpath(frames[0].findtext("obj") or "") == REAL_PROG
        for d in ([mine, totals] if is_own else [totals]):
            d[kind][0] += nbytes
            d[kind][1] += blocks
    return {k: tuple(v) for k, v in mine.items()}, {k: tuple(v) for k, v in totals.items()}


have_valgrind = shutil.which("valgrind") is not None
if not have_valgrind:
    print("skip: valgrind not installed: figures checked against the known truth only")
for mode in TRUTH:
    mine, totals, proc = heapscope_figures(mode)
    eq(mine, truth(mode), "%s: the program's stacks by category" % mode)
    if mode != "thread":
        eq(totals, truth(mode), "%s: LEAK SUMMARY totals" % mode)
    if not have_valgrind:
        continue
    vg_mine, vg_totals = memcheck_figures(mode)
    eq(vg_mine, truth(mode), "%s: memcheck agrees with the known truth" % mode)
    eq(mine, vg_mine, "%s: heapscope's figures equal memcheck's (program's stacks)" % mode)
    if mode != "thread":
        eq(totals, vg_totals, "%s: heapscope's LEAK SUMMARY equals memcheck's" % mode)

# --- the run summary, text ------------------------------------------------------------------
proc, rec = env.run([PROG, "tree"], rec_name="tree-text.hsr")
err = proc.stderr.decode()
check("LEAK SUMMARY" in err, "run: LEAK SUMMARY printed")
check(re.search(r"definitely lost: 48 bytes in 1 block\n", err) is not None,
      "run: definitely lost line as memcheck writes it")
check(re.search(r"indirectly lost: 288 bytes in 6 blocks\n", err) is not None,
      "run: indirectly lost line")
check("leak_tree (leak_kinds.c:" in err, "run: the lost stack is listed (--leak-check=full)")
text = env.text("report", rec).stdout.decode()
check("leaks: 336 B lost in 7 blocks from 1 stack" in text, "report: leaks heading (lost)")
check("48 B in 1 block definitely lost, 288 B in 6 blocks indirectly lost" in text,
      "report: the stack's categories")

proc, rec = env.run([PROG, "tree"], opts=["--leak-check=summary"], rec_name="tree-sum.hsr")
err = proc.stderr.decode()
check("definitely lost: 48 bytes in 1 block" in err, "summary: LEAK SUMMARY printed")
check("leak_tree (leak_kinds.c:" not in err.split("peak:")[0], "summary: no lost stacks listed")

proc, rec = env.run([PROG, "tree"], opts=["--leak-check=none"], rec_name="tree-none.hsr")
check("LEAK SUMMARY" not in proc.stderr.decode(), "none: no LEAK SUMMARY")
rep = env.report(rec, "--leaks")
eq(rep["leak_summary"], None, "none: no scan in the recording")
eq([(s["live_bytes"], s["live_blocks"], s["leak"]) for s in rep["stacks"]], [(336, 7, None)],
   "none: the leaks view is what was live at the end")

# still reachable only with --show-reachable
proc, rec = env.run([PROG, "global"], rec_name="global2.hsr")
eq(env.report(rec, "--leaks", reachable=False)["stacks"], [],
   "global: no stack without --show-reachable")
eq(len(env.report(rec, "--leaks", "--show-reachable")["stacks"]), 2,
   "global: the table's and the blocks' stacks with --show-reachable")
finish(env)
