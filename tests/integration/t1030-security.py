# SPDX-License-Identifier: MIT
"""Security promises (docs/ROBUSTNESS.md), one check each: the control socket answers only
its own user (SO_PEERCRED: a client running as nobody gets nothing even when the file
permissions let it connect); recordings are created with mode 0600 whatever the umask;
a symbolic link planted at the recording's path is never followed (the file it points
to is untouched, and a dangling one creates nothing); a socket directory that is not a
private directory of the user is refused; no source file hands a command line to a
shell (no system() or popen(), no /bin/sh). The first needs root (setpriv to nobody)."""
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from hstest import Env, eq, check, finish

env = Env()
NOBODY = 65534
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
hooks = env.target("hooks_c")
waiter = env.target("torture_crash")


def start_waiter(sockdir, rec_name="w.hsr"):
    e = dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_SOCKET_DIR=sockdir,
             HEAPSCOPE_OUTPUT=os.path.join(env.tmp, rec_name))
    p = subprocess.Popen([waiter, "wait", "10"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e, cwd=env.tmp)
    p.stdout.readline()
    return p


def ask(path, as_nobody=False):
    """Send `status` to the socket at path; the answer (b"" when the connection is closed
    or reset without one; "error: ..." when it cannot connect at all)."""
    code = ("import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
            "try: s.sendall(b'status\\n'); sys.stdout.buffer.write(s.recv(4096))\n"
            "except (ConnectionResetError, BrokenPipeError): pass")
    argv = [sys.executable, "-c", code, path]
    if as_nobody:
        argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + argv
    r = subprocess.run(argv, capture_output=True, timeout=30)
    return r.stdout if r.returncode == 0 else b"error: " + r.stderr[-200:]


# --- the control socket refuses another user -----------------------------------------------
if os.geteuid() == 0 and shutil.which("setpriv"):
    sockdir = os.path.join(env.tmp, "sock")
    p = start_waiter(sockdir)
    path = os.path.join(sockdir, "%d.sock" % p.pid)
    for _ in range(100):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    eq(stat.S_IMODE(os.stat(sockdir).st_mode), 0o700, "socket directory made 0700")
    check(ask(path).startswith(b"pid %d" % p.pid), "the owner gets an answer")
    # Open the file permissions wide: only the peer check stands in the way now.
    os.chmod(env.tmp, 0o711)
    os.chmod(sockdir, 0o711)
    os.chmod(path, 0o777)
    eq(ask(path, as_nobody=True), b"", "nobody connects but gets no answer (SO_PEERCRED)")
    check(ask(path).startswith(b"pid"), "the owner still does")
    p.kill()
    p.communicate()
    os.chmod(env.tmp, 0o700)
else:
    print("skip: SO_PEERCRED check needs root and setpriv")

# --- recordings are 0600, whatever the umask -------------------------------------------------
rec = os.path.join(env.tmp, "mode.hsr")
r = subprocess.run([hooks], env=dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_OUTPUT=rec),
                   preexec_fn=lambda: os.umask(0), capture_output=True, timeout=60)
eq(stat.S_IMODE(os.stat(rec).st_mode), 0o600, "recording mode with umask 0")
proc, rec = env.run([hooks], rec_name="run-mode.hsr")
eq(stat.S_IMODE(os.stat(rec).st_mode), 0o600, "recording mode through heapscope run")

# --- a planted symlink is never followed -------------------------------------------------------
victim = os.path.join(env.tmp, "victim")
with open(victim, "w") as f:
    f.write("precious\n")
link = os.path.join(env.tmp, "planted.hsr")
os.symlink(victim, link)
r = subprocess.run([hooks], env=dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_OUTPUT=link),
                   capture_output=True, timeout=60)
eq(r.returncode, 7, "program unchanged next to a planted link")
eq(open(victim).read(), "precious\n", "the link's target is untouched")
check(os.path.islink(link), "the link is still a link")
check(os.path.exists(link + ".1") and not os.path.islink(link + ".1"),
      "the recording went to a new file beside it")
proc, rec = env.run([hooks], rec_name="planted.hsr")
eq(proc.returncode, 7, "heapscope run next to a planted link: status passed through")
eq(open(victim).read(), "precious\n", "the link's target is untouched by heapscope run")
dangling = os.path.join(env.tmp, "dangling.hsr")
target = os.path.join(env.tmp, "created-through-link")
os.symlink(target, dangling)
subprocess.run([hooks], env=dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_OUTPUT=dangling),
               capture_output=True, timeout=60)
check(not os.path.exists(target), "a dangling link's target is not created")

# --- socket directories that are not private are refused ------------------------------------
good = os.path.join(env.tmp, "good")
os.mkdir(good, 0o700)
cases = []
wide = os.path.join(env.tmp, "wide")
os.mkdir(wide)
os.chmod(wide, 0o777)
cases.append((wide, "mode 0777"))
cases.append((os.path.join(env.tmp, "linkdir"), "a symbolic link to a good directory"))
os.symlink(good, cases[-1][0])
if os.geteuid() == 0:
    other = os.path.join(env.tmp, "other")
    os.mkdir(other, 0o700)
    os.chown(other, NOBODY, NOBODY)
    cases.append((other, "owned by another user"))
notdir = os.path.join(env.tmp, "notdir")
open(notdir, "w").close()
cases.append((notdir, "a plain file"))
for d, what in cases:
    p = start_waiter(d, rec_name="sockdir.hsr")
    time.sleep(0.2)
    p.kill()
    out, err = p.communicate()
    real = os.path.realpath(d)
    socks = [f for f in os.listdir(real) if f.endswith(".sock")] if os.path.isdir(real) else []
    eq(socks, [], "socket directory %s: refused, no socket made" % what)
    check(b"no control socket" in err, "socket directory %s: says so" % what)

# --- no command line goes to a shell -------------------------------------------------------
shell = re.compile(r"\b(system|popen|wordexp)\s*\(|\"/bin/sh\"|\"sh\",\s*\"-c\"")
hits = []
for top, _, files in os.walk(os.path.join(root, "src")):
    for name in files:
        if name.endswith((".c", ".h")):
            path = os.path.join(top, name)
            for i, line in enumerate(open(path, errors="replace"), 1):
                if shell.search(line):
                    hits.append("%s:%d: %s" % (os.path.relpath(path, root), i, line.strip()))
eq(hits, [], "no system(), popen(), wordexp() or /bin/sh in src/")
finish(env)
