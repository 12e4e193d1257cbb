# SPDX-License-Identifier: MIT
"""The progress line of `heapscope report` (docs/CLI.md, "Progress").

Records many_stacks (131,072 distinct stacks), then writes its whole peak view as folded
stacks to a file twice: with standard error on a pseudo-terminal, the report must draw a
progress line there ('\\r' + "heapscope: ... NN%", redrawn in place) and erase it at the end;
with standard error on a pipe it must print only its usual "wrote ..." line; and the file
written must be the same bytes either way.
"""
import os
import pty
import re
import select
import subprocess
import time

from hstest import Env, check, eq, finish

LEVELS = 17                      # 131,072 stacks: the report takes a second or more
CALLS = 3 * (1 << LEVELS)

env = Env()
proc, rec = env.run([env.target("many_stacks"), str(CALLS), str(LEVELS)],
                    ["--leak-check=none", "--no-summary", "-q"], timeout=600)
eq(proc.returncode, 0, "many_stacks ran under heapscope")


def report_argv(out):
    return [env.heapscope, "report", rec, "--peak", "--format", "folded", "-o", out]


def run_on_pty(argv):
    """Run argv with stderr on a pseudo-terminal; return (exit status, bytes it wrote there)."""
    master, slave = pty.openpty()
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=slave, cwd=env.tmp)
    os.close(slave)
    got = b""
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if child.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:          # EIO: every slave descriptor is closed
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    return child.wait(timeout=600), got


tty_out = os.path.join(env.tmp, "tty.folded")
started = time.monotonic()
status, shown = run_on_pty(report_argv(tty_out))
elapsed = time.monotonic() - started
eq(status, 0, "report with stderr on a terminal exits 0")
lines = re.findall(rb"\rheapscope: ([^\r\n]*?) +(\d+)%", shown)
check(len(lines) >= 2, "a progress line is drawn and redrawn (%d draws)" % len(lines))
check(any(b"symbolizing stacks, writing folded" in what for what, _ in lines),
      "the line names the phase: %r" % sorted({what for what, _ in lines}))
percents = [int(p) for what, p in lines if b"writing folded" in what]
check(percents == sorted(percents) and all(0 <= p <= 100 for p in percents),
      "percentages rise and stay within 0..100: %r" % percents[:20])
text = shown.replace(b"\r\n", b"\n")      # the terminal's own newline translation
end = re.search(rb"\r +\r(heapscope: wrote the peak view as folded[^\n]*\n)$", text)
check(end is not None, "the line is erased, then the usual message: %r" % text[-200:])
check(end is not None and b"\n" not in text[:end.start()],
      "the progress line never starts a new line")
check(len(lines) <= 10 * elapsed + 2,
      "at most ten redraws a second (%d in %.1f s)" % (len(lines), elapsed))

pipe_out = os.path.join(env.tmp, "pipe.folded")
piped = subprocess.run(report_argv(pipe_out), capture_output=True, timeout=600, cwd=env.tmp)
eq(piped.returncode, 0, "report with stderr on a pipe exits 0")
check(piped.stderr.startswith(b"heapscope: wrote the peak view as folded")
      and b"\r" not in piped.stderr and piped.stderr.count(b"\n") == 1,
      "nothing but the usual message on stderr when it is not a terminal: %r"
      % piped.stderr[:200])

with open(tty_out, "rb") as a, open(pipe_out, "rb") as b:
    check(a.read() == b.read(), "the file written is the same with and without progress")

finish(env)
