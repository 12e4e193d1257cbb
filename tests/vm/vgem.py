# SPDX-License-Identifier: MIT
"""Run a program under the agent in a small VM that has real dma-bufs (docs/HEAPS.md).

This machine's kernel has no dma-buf exporter; Debian's kernel has vgem, a virtual GEM
driver whose buffers export as dma-bufs. This script boots that kernel under
`qemu-system-x86_64 -accel tcg` (no KVM needed) with an initramfs made here:

  /bin/busybox (busybox-static) and its applets, /init (a shell script)
  /lib/modules/{drm,drm_shmem_helper,vgem}.ko from the kernel package
  the dynamic loader and the libraries the program and libheapscope.so need, at the
  paths they have on this machine; the program in /bin, the agent in /lib

The init loads the modules, runs the program with LD_PRELOAD and HEAPSCOPE_OUTPUT=/out/...,
prints every file of /out in base64 between markers on the serial console, and powers
off. The host decodes them into OUT_DIR; report them with `--sysroot` = the initramfs
tree (OUT_DIR/root), which holds the exact binaries the recordings name.

The kernel comes from HEAPSCOPE_VM_KERNEL (a directory where a linux-image .deb was
unpacked: boot/vmlinuz-*, lib/modules/*), else from CACHE (unpacked before), else it is
fetched with `apt-get download` (the package linux-image-amd64 depends on) and unpacked
with `dpkg-deb -x` into CACHE, without installing anything.

Usage: vgem.py BUILD_DIR OUT_DIR PROGRAM [ARGS...]   (exit 77: cannot run here, says why)
As a module: vm_run(build, out_dir, argv, env) -> (files, console, seconds) or raises Skip.
"""
import base64
import glob
import os
import re
import shutil
import subprocess
import sys
import time

MODULES = ["drm", "drm_shmem_helper", "vgem"]


class Skip(Exception):
    """The VM can't run on this machine; the message says what is missing."""


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=kw.pop("timeout", 300), **kw)


def _fetch_kernel(cache):
    """Unpack Debian's current amd64 kernel package into cache; its directory."""
    dest = os.path.join(cache, "kernel")
    if glob.glob(os.path.join(dest, "boot", "vmlinuz-*")):
        return dest
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise Skip("no kernel: set HEAPSCOPE_VM_KERNEL (apt-get and dpkg-deb are missing)")
    dep = _run(["apt-cache", "depends", "linux-image-amd64"])
    m = re.search(r"Depends: (linux-image-\S+)", dep.stdout.decode())
    if not m:
        raise Skip("no kernel: apt-cache knows no linux-image-amd64")
    dl = os.path.join(cache, "deb")
    os.makedirs(dl, exist_ok=True)
    got = _run(["apt-get", "download", m.group(1)], cwd=dl)
    debs = glob.glob(os.path.join(dl, m.group(1) + "_*.deb"))
    if got.returncode != 0 or not debs:
        raise Skip("no kernel: apt-get download %s failed: %s" %
                   (m.group(1), got.stderr.decode(errors="replace").strip()[-200:]))
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    if _run(["dpkg-deb", "-x", debs[0], tmp]).returncode != 0:
        raise Skip("no kernel: cannot unpack " + debs[0])
    os.rename(tmp, dest)
    shutil.rmtree(dl, ignore_errors=True)
    return dest


def find_kernel(cache):
    """(vmlinuz path, {module name: .ko path}) or raises Skip."""
    root = os.environ.get("HEAPSCOPE_VM_KERNEL") or _fetch_kernel(cache)
    kernels = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    if not kernels:
        raise Skip("no vmlinuz under %s" % root)
    version = os.path.basename(kernels[-1])[len("vmlinuz-"):]
    mods = {}
    for dirpath, _, files in os.walk(os.path.join(root, "lib", "modules", version)):
        for f in files:
            if f.endswith(".ko"):
                mods[f[:-3].replace("-", "_")] = os.path.join(dirpath, f)
    missing = [m for m in MODULES if m not in mods]
    if missing:
        raise Skip("kernel %s lacks modules %s" % (version, ", ".join(missing)))
    return kernels[-1], {m: mods[m] for m in MODULES}


def _libraries(paths):
    """The dynamic loader and shared libraries these binaries need (ldd)."""
    libs = set()
    for p in paths:
        out = _run(["ldd", p]).stdout.decode()
        for line in out.splitlines():
            m = re.search(r"(/\S+) \(0x", line)
            if m:
                libs.add(m.group(1))
    return sorted(libs)


INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in %(modules)s; do insmod /lib/modules/$m.ko || echo "=====INSMOD $m FAILED====="; done
mkdir -p /out
cd /out
env LD_PRELOAD=/lib/libheapscope.so HEAPSCOPE_OUTPUT=/out/rec.%%p.hsr %(env)s \\
    %(argv)s >/out/stdout 2>/out/stderr
echo $? >/out/status
echo
for f in /out/*; do
    echo "=====BEGIN ${f#/out/}====="
    base64 "$f"
    echo "=====END====="
done
echo "=====DONE====="
reboot -f
"""


def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class _Cpio:
    """An uncompressed newc archive, as the kernel unpacks into its rootfs."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 1000

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        self.ino += 1
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0]
        self.out += b"070701" + "".join("%08X" % v for v in fields).encode()
        self.out += name.encode() + b"\0"
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def tree(self, root):
        for dirpath, dirs, files in os.walk(root):
            dirs.sort()
            rel = os.path.relpath(dirpath, root)
            if rel != ".":
                self._entry(rel, 0o40755)
            for f in sorted(files):
                p = os.path.join(dirpath, f)
                name = os.path.normpath(os.path.join(rel, f))
                if os.path.islink(p):
                    self._entry(name, 0o120777, os.readlink(p).encode())
                else:
                    with open(p, "rb") as fh:
                        self._entry(name, 0o100755, fh.read())

    def console(self):
        """/dev/console, which the kernel opens for init before anything is mounted."""
        self._entry("dev/console", 0o20600, rdev=(5, 1))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return bytes(self.out)


def _copy(src, root, dest=None):
    dest = os.path.join(root, (dest or src).lstrip("/"))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copy2(os.path.realpath(src), dest)
    return dest


def build_initramfs(build, root, argv, env, modules):
    """Lay out the VM's root in `root` and return it as a newc archive."""
    busybox = shutil.which("busybox")
    if not busybox or _run(["ldd", busybox]).returncode == 0:  # ldd fails on static ones
        raise Skip("no static busybox (apt-get install busybox-static)")
    agent = os.path.join(build, "lib", "libheapscope.so")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "lib/modules", "proc", "sys", "dev", "out", "tmp"):
        os.makedirs(os.path.join(root, d))
    _copy(busybox, root, "/bin/busybox")
    _copy(agent, root, "/lib/libheapscope.so")
    prog = _copy(argv[0], root, "/bin/" + os.path.basename(argv[0]))
    for lib in _libraries([prog, agent]):
        _copy(lib, root)
    for name, ko in modules.items():
        _copy(ko, root, "/lib/modules/%s.ko" % name)
    vm_argv = ["/bin/" + os.path.basename(argv[0])] + list(argv[1:])
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT % {
            "modules": " ".join(MODULES),
            "env": " ".join(_shell_quote("%s=%s" % kv) for kv in sorted(env.items())),
            "argv": " ".join(_shell_quote(a) for a in vm_argv),
        })
    os.chmod(os.path.join(root, "init"), 0o755)
    cpio = _Cpio()
    cpio.tree(root)
    cpio.console()
    return cpio.finish()


def _files_from_console(text):
    files, name, lines = {}, None, []
    for line in text.splitlines():
        line = line.strip()
        m = re.search(r"=====BEGIN (\S+)=====$", line)  # after the console's escapes
        if m:
            name, lines = m.group(1), []
        elif line == "=====END=====" and name:
            files[name] = base64.b64decode("".join(lines))
            name = None
        elif name:
            lines.append(line)
    return files


def vm_run(build, out_dir, argv, env=None, timeout=240):
    """Run argv in the VM. Returns ({name: bytes} of /out, console text, seconds)."""
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise Skip("no qemu-system-x86_64 (apt-get install qemu-system-x86)")
    cache = os.environ.get("HEAPSCOPE_VM_CACHE") or os.path.join(build, "vm-cache")
    os.makedirs(cache, exist_ok=True)
    vmlinuz, modules = find_kernel(cache)
    os.makedirs(out_dir, exist_ok=True)
    root = os.path.join(out_dir, "root")
    initrd = os.path.join(out_dir, "initrd.cpio")
    with open(initrd, "wb") as f:
        f.write(build_initramfs(build, root, argv, env or {}, modules))
    cmd = [qemu, "-accel", "tcg", "-m", "512", "-smp", "1", "-nographic", "-no-reboot",
           "-kernel", vmlinuz, "-initrd", initrd,
           "-append", "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init"]
    start = time.monotonic()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    seconds = time.monotonic() - start
    console = proc.stdout.decode(errors="replace")
    with open(os.path.join(out_dir, "console.log"), "w") as f:
        f.write(console)
    if "=====DONE=====" not in console:
        raise RuntimeError("the VM did not finish (qemu exit %d); see %s" %
                           (proc.returncode, os.path.join(out_dir, "console.log")))
    files = _files_from_console(console)
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    return files, console, seconds


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.split("\n\n")[-2])
    try:
        files, _, seconds = vm_run(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]),
                                   sys.argv[3:])
    except Skip as e:
        print("skip:", e)
        sys.exit(77)
    print("vm: %.1f s; files: %s" % (seconds, " ".join(sorted(files))))


if __name__ == "__main__":
    main()
