# SPDX-License-Identifier: MIT
"""Heaps other than malloc's (docs/HEAPS.md): a program reports its own pools through
heapscope_heap_register/_alloc/_free; each heap has exact live and peak figures, its stacks
at its own peak (report --peak --heap NAME), its leaks in the leaks view, and the total peak
is the peak of host + other heaps at one moment, whether a pool or malloc reaches it."""
from hstest import Env, eq, check, functions, finish

env = Env()
prog = env.target("heaps_api")
MiB = 1 << 20

plain = env.plain([prog])
eq(plain.returncode, 0, "exit status without the agent")
eq(plain.stdout, b"heaps done\n", "output without the agent")

proc, rec = env.run([prog], rec_name="heaps.hsr")
eq(proc.returncode, 0, "exit status under the agent")
eq(proc.stdout, b"heaps done\n", "output under the agent")

r = env.report(rec, "--leaks")
s = r["summary"]
heaps = {h["name"]: h for h in s.get("heaps", [])}
eq(sorted(heaps), ["dma-buf", "gpu-pool", "host", "texture-cache"], "heaps")
eq([h["id"] for h in s.get("heaps", [])], [0, 1, 2, 3], "heap ids: host, dma-buf, then by registration")
eq(heaps["host"]["peak_bytes"], 4 * MiB, "host peak")
eq(s["peak_bytes"], 4 * MiB, "summary peak_bytes is the host's")
eq((heaps["gpu-pool"]["peak_bytes"], heaps["gpu-pool"]["live_bytes"],
    heaps["gpu-pool"]["live_blocks"]), (8000, 3000, 1), "gpu-pool peak, live bytes, live blocks")
eq((heaps["texture-cache"]["peak_bytes"], heaps["texture-cache"]["live_bytes"]), (6000, 0),
   "texture-cache peak and live")
eq((heaps["dma-buf"]["peak_bytes"], heaps["dma-buf"]["live_bytes"]), (3 * MiB, 0),
   "dma-buf (reported by hand) peak and live")
eq(s.get("total_peak_bytes"), 4 * MiB + 3000, "total peak: the 4 MiB malloc with 3,000 pooled")
check(heaps["gpu-pool"]["peak_time_s"] <= heaps["texture-cache"]["peak_time_s"] <=
      heaps["dma-buf"]["peak_time_s"] <= s["total_peak_time_s"], "peak times in order")

pooled = [st for st in r["stacks"] if st["allocator"] != "malloc"]
if eq(len(pooled), 1, "one leaked pool stack"):
    eq((pooled[0]["allocator"], pooled[0]["live_bytes"], pooled[0]["live_blocks"]),
       ("gpu-pool", 3000, 1), "the leak: allocator, bytes, blocks")
    check("gpu_alloc_small" in functions(pooled[0]), "leak's stack: %s" % functions(pooled[0]))


def peak_of(heap):
    v = env.report(rec, "--peak", "--heap", heap)
    eq(v.get("heap"), {"dma": "dma-buf"}.get(heap, heap), "view narrowed to %s" % heap)
    return sorted((st["peak_bytes"], st["peak_blocks"], st["allocator"],
                   [f for f in functions(st) if f in ("gpu_alloc_small", "gpu_alloc_big",
                                                      "texture_upload", "dma_export", "main")][0])
                  for st in v["stacks"])


eq(peak_of("gpu-pool"), [(3000, 1, "gpu-pool", "gpu_alloc_small"),
                         (5000, 1, "gpu-pool", "gpu_alloc_big")], "gpu-pool's stacks at its peak")
eq(peak_of("texture-cache"), [(2000, 1, "texture-cache", "texture_upload"),
                              (4000, 1, "texture-cache", "texture_upload")],
   "texture-cache's stacks at its peak")
eq(peak_of("dma"), [(3 * MiB, 1, "dma-buf", "dma_export")], "dma-buf's stack at its peak")
host = env.report(rec, "--peak")
eq([(st["allocator"], st["peak_bytes"]) for st in host["stacks"]], [("malloc", 4 * MiB)],
   "the host's peak view has host stacks only")
eq(host.get("heap"), None, "no heap chosen")
eq([st["allocator"] for st in env.report(rec, "--allocs", "--heap", "host")["stacks"]],
   ["malloc", "malloc"], "--heap host: malloc's stacks only")

bad = env.text("report", rec, "--heap", "nosuch")
eq(bad.returncode, 1, "unknown heap: exit 1")
check(b"no heap 'nosuch'" in bad.stderr and b"gpu-pool" in bad.stderr,
      "unknown heap: names the heaps: %r" % bad.stderr)

text = env.text("report", rec).stdout.decode()
check("host peak 4.19 MB, dma peak 3.15 MB, gpu-pool peak 8.0 kB, texture-cache peak 6.0 kB, "
      "total peak 4.20 MB" in text, "text summary's peaks line")
check("gpu-pool at end       3.0 kB in 1 block" in text, "text summary: what a pool still holds")

# The legacy exit line, with the real dma peak (MiB).
pre = env.preload([prog], {"HEAPSCOPE_EXIT_LINE": "1", "HEAPSCOPE_OUTPUT": env.tmp + "/pre.hsr"})
eq(pre.returncode, 0, "exit status with LD_PRELOAD")
check(b"host peak used: 4MB, dma peak used 3MB, total peak used: 4MB" in pre.stderr,
      "exit line: %r" % pre.stderr)
finish(env)
