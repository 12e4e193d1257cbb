# SPDX-License-Identifier: MIT
"""Compressed recordings (docs/FORMAT.md): `heapscope run` leaves a zstd frame that reports
exactly as the raw recording of `--no-compress` does; a compressed recording cut in the
middle still loads, up to the cut, and says it was cut short (a cut inside the first block
fails as a cut inside the header does); a window recording of `ctl record` is compressed
too; and where the compressed copy cannot be created (a tmpfs out of inodes, as root) the
raw recording stays, with one message."""
import json
import os
import subprocess
import time
from hstest import Env, eq, check, finish, functions, CHILDREN

env = Env()
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
prog = [env.target("many_stacks"), "40000", "14"]	# 16,384 stacks: a 400 KB recording


def head(path, n=8):
    with open(path, "rb") as f:
        return f.read(n)


def figures(rec):
    """Per-stack (frames, alloc_calls, alloc_bytes), sorted, and the totals."""
    d = env.report(rec, "--allocs")
    stacks = sorted((tuple(functions(s)), s["alloc_calls"], s["alloc_bytes"])
                    for s in d["stacks"])
    return stacks, d["summary"].get("alloc_calls"), d["summary"].get("alloc_bytes")


def report(rec, *args):
    return subprocess.run([env.heapscope, "report", rec] + list(args), capture_output=True,
                          timeout=120)


# --- the same figures, compressed or not -----------------------------------------------------
pz, rz = env.run(prog, rec_name="z.hsr")
pr, rr = env.run(prog, ["--no-compress"], rec_name="raw.hsr")
eq((pz.returncode, pz.stdout), (pr.returncode, pr.stdout), "the program's status and output")
eq(head(rz, 4), ZSTD_MAGIC, "heapscope run leaves a zstd frame")
eq(head(rr), b"HSREC\r\n\0", "--no-compress leaves the raw recording")
raw_size, z_size = os.path.getsize(rr), os.path.getsize(rz)
check(raw_size > 300000 and z_size < raw_size // 3,
      "compressed to less than a third (%d -> %d bytes)" % (raw_size, z_size))
eq(os.stat(rz).st_mode & 0o777, 0o600, "the compressed recording is 0600 as the raw one")
eq(sorted(os.listdir(env.tmp)), ["raw.hsr", "z.hsr"], "no temporary file left")
check(b"cannot compress" not in pz.stderr, "nothing said about compressing")
fz, fr = figures(rz), figures(rr)
check(len(fz[0]) >= 16384, "every stack in the compressed recording (%d)" % len(fz[0]))
eq(fz[1:], fr[1:], "the same totals")
check(fz[0] == fr[0], "the same per-stack alloc_calls and alloc_bytes")

# --- cut short -------------------------------------------------------------------------------
data = open(rz, "rb").read()
full = json.loads(report(rz, "--format", "json", "--allocs").stdout)
part = os.path.join(env.tmp, "cut.hsr")
with open(part, "wb") as f:
    f.write(data[:len(data) // 2])
r = report(part, "--format", "json", "--top", "0", "--allocs")
eq(r.returncode, 0, "half a compressed recording loads: %s" % r.stderr.decode().strip())
if r.returncode == 0:
    d = json.loads(r.stdout)
    eq(d["recording"]["truncated"], True, "JSON says truncated")
    check("compressed data cut short" in (d["recording"]["problem"] or ""),
          "the problem says where: %r" % d["recording"]["problem"])
    check((d["recording"]["exe"] or "").endswith("/many_stacks"), "the process is known")
    check(d["summary"].get("alloc_calls", 0) <= full["summary"]["alloc_calls"],
          "a prefix: no more than the whole")
txt = report(part)
check(b"cut short" in txt.stdout + txt.stderr, "the text report says it was cut short")
with open(part, "wb") as f:
    f.write(data[:40])
r = report(part)
check(r.returncode == 1 and r.stderr.startswith(b"heapscope: cannot read '"),
      "cut inside the first block: status 1 and one message (%d, %r)"
      % (r.returncode, r.stderr[:200]))

# --- a window recording of ctl record --------------------------------------------------------
svc = subprocess.Popen([env.heapscope, "run", "-o", os.path.join(env.tmp, "svc.hsr"),
                        "--no-summary", "--", env.target("service"), "100000", "5"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=env.tmp)
CHILDREN.append(svc)
pid = int(svc.stdout.readline().split()[1])
window = os.path.join(env.tmp, "window.hsr")
r = subprocess.run([env.heapscope, "ctl", str(pid), "record", "--seconds", "0.3", "-o",
                    window], capture_output=True, timeout=60)
eq(r.returncode, 0, "ctl record: %s" % r.stderr.decode().strip())
check(os.path.exists(window) and head(window, 4) == ZSTD_MAGIC, "the window is compressed")
check(report(window, "--format", "json").returncode == 0, "the window loads")
raw_window = os.path.join(env.tmp, "window-raw.hsr")
r = subprocess.run([env.heapscope, "ctl", str(pid), "record", "--seconds", "0.1", "-o",
                    raw_window, "--no-compress"], capture_output=True, timeout=60)
eq(r.returncode, 0, "ctl record --no-compress")
check(os.path.exists(raw_window) and head(raw_window) == b"HSREC\r\n\0",
      "ctl record --no-compress leaves it raw")
svc.terminate()
svc.communicate(timeout=60)

# --- no room for the compressed copy: the raw recording stays --------------------------------
mnt = os.path.join(env.tmp, "mnt")
os.mkdir(mnt)
if os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o",
                                         "size=8m,nr_inodes=2", "tmpfs", mnt],
                                        capture_output=True).returncode == 0:
    try:
        rec = os.path.join(mnt, "r.hsr")	# the last inode: none for a temporary file
        p = subprocess.run([env.heapscope, "run", "-o", rec, "--no-summary", "--"] + prog,
                           capture_output=True, timeout=300, cwd=env.tmp)
        eq((p.returncode, p.stdout), (pr.returncode, pr.stdout), "no room: program unchanged")
        said = [l for l in p.stderr.decode().splitlines() if "compress" in l]
        eq(len(said), 1, "no room: one message (%r)" % said)
        check(said and "cannot compress '%s'" % rec in said[0] and
              "left uncompressed" in said[0], "no room: says which and that it stays raw")
        eq(head(rec), b"HSREC\r\n\0", "no room: the raw recording stays")
        eq(os.listdir(mnt), ["r.hsr"], "no room: nothing else left")
        check(figures(rec) == fr, "no room: the raw recording has every figure")
    finally:
        subprocess.run(["umount", mnt])
else:
    print("skip: no room for the compressed copy (needs root to mount a tmpfs)")
finish(env)
