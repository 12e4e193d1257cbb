# SPDX-License-Identifier: MIT
"""dma-buf tracking on real dma-bufs (docs/HEAPS.md): tests/targets/dmabuf_vgem runs under
the agent in a VM booted with Debian's kernel and its vgem driver (tests/vm/vgem.py), which
allocates, exports twice, dups, maps, closes, forks, execs and leaks PRIME-exported dumb
buffers. The recordings must show the exact dma-buf peak (7 MiB), the leak with its
allocating function, buffers freed by dup2, munmap and CLOEXEC at exec, and the legacy exit
line with the real dma peak. Skips (prints "skip") without qemu-system-x86_64, a static
busybox or the kernel files; HEAPSCOPE_VM_KERNEL names an unpacked kernel package."""
import os
import sys
import time
from hstest import Env, eq, check, functions, finish

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm"))
import vgem  # noqa: E402

env = Env()
MiB = 1 << 20
prog = env.target("dmabuf_vgem")
if sys.platform != "linux" or os.uname().machine != "x86_64":
    print("skip: the vgem VM runs x86_64 binaries")
    finish(env)
    raise SystemExit(0)
out = os.path.join(env.tmp, "vm")
start = time.monotonic()
try:
    files, console, seconds = vgem.vm_run(env.build, out, [prog], {"HEAPSCOPE_EXIT_LINE": "1"})
except vgem.Skip as e:
    print("skip:", e)
    finish(env)
    raise SystemExit(0)
print("vm: %.1f s (boot, run, power off); with the initramfs %.1f s" %
      (seconds, time.monotonic() - start))
root = os.path.join(out, "root")

eq(files.get("status"), b"0\n", "exit status in the VM")
eq(files.get("stdout"), b"image2 done\nvgem done, child 0\n", "output in the VM")
check(b"host peak used: 0MB, dma peak used 7MB, total peak used: 7MB" in files.get("stderr", b""),
      "legacy exit line with the dma peak: %r" % files.get("stderr"))


def report(rec, *args):
    return env.report(os.path.join(out, rec), "--sysroot", root, *args)


images = {}
for name in sorted(files):
    if name.endswith(".hsr") or ".hsr." in name:
        r = report(name, "--leaks")
        rc = r["recording"]
        key = "image2" if "image2" in rc.get("cmdline", []) else rc.get("end_reason")
        images[key] = (name, r)
eq(sorted(images), ["exec", "exit", "image2"], "three recordings: program, forked child, image2")


def heap(r, name):
    return {h["name"]: h for h in r["summary"].get("heaps", [])}.get(name, {})


def by_function(stacks, field, names=("export_small", "export_leaky", "export_big",
                                      "export_cloexec")):
    res = {}
    for st in stacks:
        fn = [f for f in functions(st) if f in names]
        if st["allocator"] == "dma-buf" and fn:
            res[fn[0]] = res.get(fn[0], 0) + st[field]
    return res


if "exit" in images:
    name, r = images["exit"]
    dma = heap(r, "dma-buf")
    eq((dma.get("peak_bytes"), dma.get("live_bytes"), dma.get("live_blocks")),
       (7 * MiB, 2 * MiB, 1), "program: dma-buf peak, live bytes and blocks at the end")
    total = r["summary"].get("total_peak_bytes", 0)
    check(7 * MiB <= total <= 7 * MiB + r["summary"]["peak_bytes"],
          "total peak %d: the 7 MiB of dma-buf and some of the host's %d" %
          (total, r["summary"]["peak_bytes"]))
    leaks = [st for st in r["stacks"] if st["allocator"] == "dma-buf"]
    if eq(len(leaks), 1, "one leaked dma-buf stack"):
        eq((leaks[0]["live_bytes"], leaks[0]["live_blocks"]), (2 * MiB, 1), "the leak")
        check("export_leaky" in functions(leaks[0]), "leak's stack: %s" % functions(leaks[0]))
    peak = report(name, "--peak", "--heap", "dma-buf")
    eq(by_function(peak["stacks"], "peak_bytes"),
       {"export_small": MiB, "export_leaky": 2 * MiB, "export_big": 4 * MiB},
       "stacks at the dma-buf peak")
    allocs = report(name, "--allocs")["stacks"]
    eq(by_function(allocs, "alloc_calls"), {"export_small": 2, "export_leaky": 1, "export_big": 1},
       "buffers per stack (a second export of one buffer is no new buffer)")
    eq(by_function(allocs, "free_calls"), {"export_small": 2, "export_leaky": 0, "export_big": 1},
       "freed: the mapped one at munmap, dup2's victim, the dup'd one at its last close")
    text = env.text("report", os.path.join(out, name), "--sysroot", root).stdout.decode()
    check("host peak" in text and "dma peak 7.34 MB" in text, "text summary's peaks line")

if "exec" in images:
    name, r = images["exec"]
    dma = heap(r, "dma-buf")
    eq((dma.get("live_bytes"), dma.get("live_blocks")), (2 * MiB, 1),
       "forked child at exec: the inherited buffer live, the CLOEXEC one gone")
    allocs = report(name, "--allocs")["stacks"]
    eq((by_function(allocs, "alloc_calls").get("export_cloexec"),
        by_function(allocs, "free_calls").get("export_cloexec")), (1, 1),
       "the child's CLOEXEC buffer: allocated, freed at exec")
    check(any("forked from" in m["text"] for m in r.get("messages", [])), "child says it forked")

if "image2" in images:
    eq(heap(images["image2"][1], "dma-buf"), {}, "the exec'd image has no dma-buf of its own")
finish(env)
