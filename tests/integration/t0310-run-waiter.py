# SPDX-License-Identifier: MIT
"""While the program runs, `heapscope run` is heapscope-wait: no library at all on x86_64
and aarch64 (the C library alone elsewhere and in sanitized builds), a small RSS beside the
program (the CLI itself, with libdw, libelf, zstd and libstdc++, measured 3.6 MB while it
waited; a waiter on the C library 1.3 MB), and it still passes status, signals and the
summary through."""
import os
import platform
import signal
import subprocess
import time
from hstest import Env, eq, check, finish

env = Env()


def interpreter(path):
    """Whether the ELF file asks for a dynamic loader (has a PT_INTERP segment)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[4] != 2:			# 32-bit: never built freestanding
        return True
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    return any(int.from_bytes(data[phoff + i * phentsize:phoff + i * phentsize + 4],
                              "little") == 3 for i in range(phnum))


WAITER = os.path.join(os.path.dirname(env.heapscope), "heapscope-wait")
FREESTANDING = not interpreter(WAITER)
SANITIZED = b"__asan_init" in open(env.heapscope, "rb").read()
if platform.machine() in ("x86_64", "aarch64") and not SANITIZED:
    check(FREESTANDING, "the waiter is built without any library here")
LIMIT = 256 if FREESTANDING else 2048


def waits_as_waiter(argv, name):
    """Start `heapscope run -- argv`; check what it is while the program runs."""
    rec = os.path.join(env.tmp, name + ".hsr")
    p = subprocess.Popen([env.heapscope, "run", "-o", rec, "--"] + argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=env.tmp)
    exe, rss = None, None
    for _ in range(100):		# until the exec has happened (within a few ms)
        time.sleep(0.02)
        try:
            exe = os.readlink("/proc/%d/exe" % p.pid)
            if exe.endswith("/heapscope-wait"):
                with open("/proc/%d/status" % p.pid) as f:
                    rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
                break
        except OSError:
            pass
    check(exe is not None and exe.endswith("/heapscope-wait"),
          "%s: run waits as heapscope-wait (%s)" % (name, exe))
    check(rss is not None and rss < LIMIT, "%s: the waiter's RSS %s kB is under %d kB"
          % (name, rss, LIMIT))
    check(b"LD_PRELOAD" not in open("/proc/%d/environ" % p.pid, "rb").read(),
          "%s: the waiter runs without the agent preloaded" % name)
    return p


# An odd and an even number of arguments: the waiter's argument list once lacked its NULL
# terminator, which a calloc'd block's padding word hid for one parity (the exec failed
# with EFAULT and `run` waited as itself, with the CLI's RSS).
p = waits_as_waiter(["sleep", "1", "2"], "three")
p.send_signal(signal.SIGTERM)
p.communicate(timeout=30)
p = waits_as_waiter(["sleep", "3"], "two")
p.send_signal(signal.SIGTERM)	# passed on to the program
out, err = p.communicate(timeout=30)
eq(p.returncode, 128 + signal.SIGTERM, "a SIGTERM passed on: the program's status")

proc, rec2 = env.run(["sh", "-c", "echo hello; exit 7"], rec_name="seven.hsr")
eq((proc.returncode, proc.stdout), (7, b"hello\n"), "exit status and output through the waiter")
check(b"heapscope: recording: " + rec2.encode() in proc.stderr, "the summary names the recording")
check(b"allocation calls" in proc.stderr, "the summary is printed after the program")
with open(rec2, "rb") as f:
    eq(f.read(4), b"\x28\xb5\x2f\xfd", "and the recording compressed")

proc, _ = env.run(["/nonexistent/program"], rec_name="none.hsr")
eq(proc.returncode, 127, "a program that cannot start: 127")
check(b"cannot run '/nonexistent/program'" in proc.stderr, "and says why")

env_nw = dict(os.environ, HEAPSCOPE_RUN_NO_WAITER="1")
proc, rec3 = env.run(["sh", "-c", "exit 3"], rec_name="nowaiter.hsr", env=env_nw)
eq(proc.returncode, 3, "without the waiter (HEAPSCOPE_RUN_NO_WAITER=1): same status")
finish(env)
