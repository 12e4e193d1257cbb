# SPDX-License-Identifier: MIT
"""Symbols from elsewhere: a recording whose program and library are not at their recorded
paths any more is read with --sysroot (stripped copies, as on a board) and --debug-dir (the
unstripped program by build-id, the library's debug file by .gnu_debuglink): functions,
files and lines exactly as from the original files. A rebuilt program in the sysroot is
refused (build-id mismatch, frames as module+offset), and the report lists the modules
without symbols with their build-ids, in text and JSON."""
import os
import shutil
import subprocess
from hstest import Env, eq, check, finish

env = Env()
cc = os.environ.get("CC", "cc")
here = os.path.dirname(os.path.abspath(__file__))
app = os.path.join(env.tmp, "app")          # where the program ran ("the board")
os.makedirs(app)
main_c = os.path.join(env.tmp, "main.c")
with open(main_c, "w") as f:
    f.write("""#include <stdio.h>
#include <stdlib.h>
void *leaky_alloc(size_t n);
void *volatile keep[4];
__attribute__((noinline)) void own_leak(void) { keep[0] = malloc(321); }
int main(void)
{
	own_leak();
	keep[1] = leaky_alloc(654);
	puts("sysroot done");
	return 0;
}
""")


def build(out, extra=()):
    lib = subprocess.run([cc, "-g", "-O1", "-fPIC", "-shared", "-o",
                          os.path.join(out, "libleaky.so"),
                          os.path.join(here, "..", "targets", "lib", "libleaky.c")],
                         capture_output=True, text=True)
    prog = subprocess.run([cc, "-g", "-O1", "-fno-omit-frame-pointer", "-o",
                           os.path.join(out, "prog"), main_c, "-L" + out, "-lleaky",
                           "-Wl,-rpath," + out] + list(extra), capture_output=True, text=True)
    return lib.returncode == 0 and prog.returncode == 0


check(build(app), "program and library built")
proc = env.preload([os.path.join(app, "prog")],
                   {"HEAPSCOPE_OUTPUT": os.path.join(env.tmp, "rec.hsr")})
eq(proc.stdout, b"sysroot done\n", "program output")
rec = os.path.join(env.tmp, "rec.hsr")


def leak_frames(rep):
    """{bytes: [(function, file basename, line), ...]} of the two leaks' frames in the
    program and the library (the C library is not in the test's sysroot)."""
    out = {}
    for s in rep["stacks"]:
        if s["alloc_bytes"] in (321, 654):
            out[s["alloc_bytes"]] = [
                (f["function"], os.path.basename(f["file"] or ""), f["line"])
                for f in s["frames"]
                if os.path.basename(f["module"] or "") in ("prog", "libleaky.so")]
    return out


reference = leak_frames(env.report(rec, "--allocs"))
check(reference.get(321, [[None]])[0][0] == "own_leak" and
      reference.get(654, [[None]])[0][0] == "leaky_inner", "reference frames: %s" % reference)

# The board's files: stripped copies in the sysroot; the debug dir holds the unstripped
# program by build-id, and the library's separate debug file found by .gnu_debuglink.
sysroot = os.path.join(env.tmp, "sysroot")
debug = os.path.join(env.tmp, "debug")
s_app = os.path.join(sysroot, app.lstrip("/"))
os.makedirs(s_app)
rep = env.report(rec, "--allocs")
ids = {os.path.basename(m["path"]): m["build_id"] for m in rep["modules"]}
check(ids.get("prog") and ids.get("libleaky.so"), "build-ids recorded: %s" % ids)
by_id = os.path.join(debug, ".build-id", ids["prog"][:2])
os.makedirs(by_id)
shutil.copy(os.path.join(app, "prog"), os.path.join(by_id, ids["prog"][2:] + ".debug"))
lib_dbg_dir = os.path.join(debug, app.lstrip("/"))
os.makedirs(lib_dbg_dir)
lib_dbg = os.path.join(lib_dbg_dir, "libleaky.so.debug")
subprocess.run(["objcopy", "--only-keep-debug", os.path.join(app, "libleaky.so"), lib_dbg],
               check=True)
for name in ("prog", "libleaky.so"):
    shutil.copy(os.path.join(app, name), os.path.join(s_app, name))
    subprocess.run(["strip", "--strip-all", os.path.join(s_app, name)], check=True)
subprocess.run(["objcopy", "--add-gnu-debuglink=" + lib_dbg, os.path.join(s_app, "libleaky.so")],
               check=True)
os.rename(app, app + ".gone")   # the workstation does not have the board's files

opts = ("--sysroot", sysroot, "--debug-dir", debug)
rep = env.report(rec, "--allocs", *opts)
eq(leak_frames(rep), reference, "stripped sysroot + debug dir: same functions, files, lines")
mods = {os.path.basename(m["path"]): m for m in rep["modules"]}
check(mods["prog"]["has_debuginfo"] and mods["libleaky.so"]["has_debuginfo"],
      "DWARF found for both (build-id, debuglink): %s" % (
          [(m["found"], m["has_debuginfo"]) for m in mods.values()]))

# A rebuilt program in the sysroot (another build-id), no debug file for the recorded one.
rebuilt = os.path.join(env.tmp, "rebuilt")
os.makedirs(rebuilt)
check(build(rebuilt, ["-Wl,--build-id=0x0123456789abcdef0123456789abcdef01234567"]),
      "rebuilt program")
shutil.copy(os.path.join(rebuilt, "prog"), os.path.join(s_app, "prog"))
shutil.rmtree(os.path.join(debug, ".build-id"))
rep = env.report(rec, "--allocs", *opts)
prog = {os.path.basename(m["path"]): m for m in rep["modules"]}["prog"]
want = "build-id mismatch: recorded %s, found 0123456789abcdef0123456789abcdef01234567 in %s" % (
    ids["prog"], os.path.join(s_app, "prog"))
eq((prog["has_symbols"], prog["problem"]), (False, want), "rebuilt program refused")
own = [s for s in rep["stacks"] if s["alloc_bytes"] == 321]
if check(own, "own_leak's stack"):
    f = own[0]["frames"][0]
    check(f["function"] is None and (f["module"] or "").endswith("/prog"),
          "frame shown as module+offset, not a wrong name: %s" % f)
lib = [s for s in rep["stacks"] if s["alloc_bytes"] == 654]
eq(leak_frames(rep).get(654, [[None]])[0][0], "leaky_inner", "the library still symbolizes")

text = env.text("report", rec, "--allocs", *opts).stdout.decode()
check("modules without symbols" in text and ids["prog"] in text and want in text,
      "text report lists the module without symbols, its build-id and why:\n" + text[-600:])
finish(env)
