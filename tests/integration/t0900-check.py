# SPDX-License-Identifier: MIT
"""Heap checking (--check): one test per error kind with exact offsets, bytes and stacks;
clean C and C++ programs report no error; guard pages catch an access at the faulting
instruction; past the mappings the system allows, guard mode gives blocks canaries instead
and the program's own mappings still work; --error-exitcode applies to heap errors."""
import os
from hstest import Env, eq, check, finish

env = Env()
PROG = env.target("check_errors")

# mode: (kind, block size, offset, bytes, function where found, allocated in make_block?)
CASES = {
    "overflow1": ("heap-buffer-overflow", 100, 100, 1, "overflow1", True),
    "overflow8": ("heap-buffer-overflow", 100, 100, 8, "overflow8", True),
    "underflow1": ("heap-buffer-underflow", 100, -1, 1, "underflow1", True),
    "double_free": ("double-free", 48, 0, 0, "double_free", True),
    "stack_free": ("stack-free", 0, 0, 0, "stack_free", False),
    "interior_free": ("interior-free", 200, 40, 0, "interior_free", True),
    "global_free": ("invalid-free", 0, 0, 0, "global_free", False),
    "new_free": ("alloc-dealloc-mismatch", 4, 0, 0, "new_free()", False),
    "malloc_delete": ("alloc-dealloc-mismatch", 4, 0, 0, "malloc_delete()", True),
    "newarray_delete": ("alloc-dealloc-mismatch", 80, 0, 0, "newarray_delete()", False),
    "realloc_freed": ("realloc-of-freed", 32, 0, 0, "realloc_freed()", True),
}


def funcs(frames):
    return [f["function"] for f in frames or []]


def strip(name):
    return name[:-2] if name and name.endswith("()") else name


for mode, (kind, size, offset, nbytes, where, via_make) in sorted(CASES.items()):
    proc, rec = env.run([PROG, mode], opts=["--check", "--leak-check=none"],
                        rec_name=mode + ".hsr")
    eq((proc.returncode, proc.stdout), (0, b"%s done\n" % mode.encode()),
       mode + ": the program goes on")
    check(("ERROR " + kind).encode() in proc.stderr, mode + ": said on stderr")
    errs = env.report(rec)["errors"]
    if not eq(len(errs), 1, mode + ": one error"):
        continue
    e = errs[0]
    eq((e["kind"], e["block_size"], e["offset"], e["bytes"]), (kind, size, offset, nbytes),
       mode + ": kind, block size, offset, bytes")
    found = [strip(f) for f in funcs(e["frames"])]
    check(strip(where) in found[:2], mode + ": found in %s: %s" % (where, found[:3]))
    if size:
        alloc = [strip(f) for f in funcs(e["alloc_frames"])]
        check((alloc[0] == "make_block") == via_make and strip(where) in alloc[:2],
              mode + ": allocation stack %s" % alloc[:3])

# double free: the first free's stack too
e = env.report(os.path.join(env.tmp, "double_free.hsr"))["errors"][0]
eq(funcs(e["free_frames"])[0], "double_free", "double free: the first free's stack")

# write after free: found when the block leaves the quarantine (here: at exit)
proc, rec = env.run([PROG, "write_after_free"], opts=["--check", "--leak-check=none"],
                    rec_name="uaf.hsr")
e = env.report(rec)["errors"]
if eq(len(e), 1, "write after free: one error"):
    eq((e[0]["kind"], e[0]["block_size"], e[0]["offset"], e[0]["bytes"]),
       ("write-after-free", 64, 10, 2), "write after free: where and how much")
    eq(funcs(e[0]["free_frames"])[0], "write_after_free", "write after free: free stack")

# clean programs, C and C++: no error, output and status unchanged
for prog, status in ((env.target("check_errors"), 0), (env.target("hooks_c"), 7),
                     (env.target("hooks_cxx"), 0)):
    argv = [prog, "clean"] if prog.endswith("check_errors") else [prog]
    plain = env.plain(argv)
    proc, rec = env.run(argv, opts=["--check"], rec_name=os.path.basename(prog) + "-c.hsr")
    eq((proc.returncode, proc.stdout), (status, plain.stdout), os.path.basename(prog) +
       " under --check: status and output")
    eq(env.report(rec)["errors"], [], os.path.basename(prog) + ": no heap error")

# guard pages: a write after free faults at the write (the process dies of SIGSEGV)
proc, rec = env.run([PROG, "write_after_free"], opts=["--check=guard", "--leak-check=none"],
                    rec_name="guard.hsr")
eq(proc.returncode, 128 + 11, "guard: killed by SIGSEGV at the faulting write")
rep = env.report(rec)
e = rep["errors"]
if eq(len(e), 1, "guard: one error"):
    eq((e[0]["kind"], e[0]["offset"], e[0]["block_size"]),
       ("use-after-free (guard page)", 10, 64), "guard: what and where")
    eq(funcs(e[0]["frames"])[0], "write_after_free", "guard: stack of the faulting write")
eq(rep["recording"]["end_reason"], "signal", "guard: the recording ends with the signal")

# guard pages: more live blocks than vm.max_map_count leaves room for (two mappings each,
# seven eighths of the limit): the rest get canaries, the program's own mmap, thread and
# page-aligned allocation work, and an overflow of a block past the limit is found at its
# free. Without the limit, malloc failed after about 32,000 blocks.
try:
    with open("/proc/sys/vm/max_map_count") as f:
        max_maps = int(f.read())
except (OSError, ValueError):
    max_maps = 0
guard_max = (max_maps - max_maps // 8) // 2
many = max_maps // 2 + 2000	# past what two mappings a block could ever hold
if not max_maps or many > 100000:
    print("skip: guard mode's limit (vm.max_map_count %d) is too high to reach here" % max_maps)
else:
    proc, rec = env.run([PROG, "guard_many", str(many)],
                        opts=["--check=guard", "--leak-check=none"], rec_name="guard_many.hsr")
    eq((proc.returncode, proc.stdout),
       (0, b"guard_many: %d of %d blocks, aligned ok, mmap ok, thread ok\n" % (many, many)),
       "guard: every block, the program's own mappings and thread")
    said = [l for l in proc.stderr.splitlines() if l.startswith(b"heapscope: guard pages:")]
    eq(len(said), 1, "guard: the limit said once")
    check(said and (b"guard pages: %d blocks" % guard_max) in said[0],
          "guard: the limit's figure: %r" % said[:1])
    e = env.report(rec)["errors"]
    if eq(len(e), 1, "guard: one error past the limit"):
        eq((e[0]["kind"], e[0]["offset"], e[0]["block_size"]),
           ("heap-buffer-overflow", 24, 24), "guard: the canary block's overflow")
        eq(funcs(e[0]["alloc_frames"])[:2], ["make_block", "guard_many"],
           "guard: the overflowed block's allocation stack")

# --error-exitcode counts heap errors
proc, rec = env.run([PROG, "overflow1"], opts=["--check", "--error-exitcode=9",
                                               "--leak-check=none"], rec_name="exit.hsr")
eq(proc.returncode, 9, "--error-exitcode with a heap error")
proc, rec = env.run([PROG, "clean"], opts=["--check", "--error-exitcode=9",
                                           "--leak-check=none"], rec_name="exit2.hsr")
eq(proc.returncode, 0, "--error-exitcode without errors")

# Blocks allocated while tracking is off (HEAPSCOPE_START=0, or after `ctl stop`) are not in
# the pointer map: realloc took them for freed ones, freed them and said ENOMEM (python3
# died of SIGSEGV); a bytearray grown by realloc, in python3 on the C allocator.
GROW = "b = bytearray()\nfor i in range(20000):\n    b += b'x' * (i % 7)\nprint(len(b))\n"
py_env = dict(os.environ, PYTHONMALLOC="malloc", HEAPSCOPE_START="0")
proc, rec = env.run(["/usr/bin/python3", "-c", GROW], opts=["--check", "--no-summary"],
                    rec_name="off.hsr", env=py_env)
eq((proc.returncode, proc.stdout), (0, b"59997\n"), "realloc of blocks made with tracking off")
finish(env)
