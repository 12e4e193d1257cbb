# SPDX-License-Identifier: MIT
"""Termination signals left at their default action (src/agent/hooks_sig.c). A program
killed by SIGTERM, or by Ctrl-C on `heapscope run`, in its first second (before the agent's
thread and its first autosave) leaves a recording with everything it allocated, and still
dies of its signal. The program sees nothing of the agent's handler: the actions it asks
for and sets read as they would without the agent, its own handler runs, SIG_IGN ignores,
and python3 still turns SIGINT into KeyboardInterrupt. HEAPSCOPE_TERM_HANDLER=0 turns it
off (and the recording is then lost, as it was before)."""
import os
import resource
import signal
import subprocess
import time
from hstest import Env, CHILDREN, eq, check, finish, stacks_at, sum_field

env = Env()
prog = env.target("term_signals")
TERM_SIGS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE,
             signal.SIGALRM)


def default_actions():
    """In the child: every termination signal at its default action, as on a terminal (and
    no core file for SIGQUIT's)."""
    for s in TERM_SIGS:
        signal.signal(s, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(argv, extra, **kw):
    e = dict(os.environ)
    e.update(extra)
    return subprocess.run(argv, capture_output=True, timeout=120, env=e, cwd=env.tmp,
                          preexec_fn=default_actions, **kw)


# --- what the program sees: the same with and without the agent -------------------------
expected = ("SIGTERM dfl=1\nSIGTERM flags=0\nsignal(SIGINT) was dfl=1\nSIGINT dfl=0\n"
            "handled SIGINT\nback to dfl: was on_int=1\nSIGINT dfl=1\nSIGHUP was dfl=1\n"
            "SIGHUP ignored\nSIGHUP ign=1\nSIGALRM set dfl, was dfl=1, now dfl=1\n"
            "SIGQUIT was dfl=1\nSIGQUIT now on_int=1\nSIGQUIT back, was on_int=1, now dfl=1\n"
            "view done\n")
plain = run([prog, "view"], {})
eq((plain.returncode, plain.stdout.decode()), (0, expected), "view without the agent")
under = run([prog, "view"], {"LD_PRELOAD": env.agent,
                             "HEAPSCOPE_OUTPUT": os.path.join(env.tmp, "view.hsr")})
eq((under.returncode, under.stdout.decode()), (0, expected), "view under the agent")
eq(under.stderr.decode(), "", "view: nothing on stderr")


# --- killed early: the recording holds what was allocated ------------------------------
def killed(name, sig, to_group, extra=None):
    rec = os.path.join(env.tmp, name + ".hsr")
    e = dict(os.environ)
    e.update(extra or {})
    p = subprocess.Popen([env.heapscope, "run", "-o", rec, "--", prog, "wait"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=env.tmp, env=e,
                         preexec_fn=default_actions, start_new_session=True)
    CHILDREN.append(p)
    line = p.stdout.readline().decode()
    check(line.startswith("ready "), "%s: the program is ready (%r)" % (name, line))
    pid = int(line.split()[1])
    if to_group:
        os.killpg(p.pid, sig)	# Ctrl-C: the terminal signals the whole foreground group
    else:
        os.kill(pid, sig)
    out, err = p.communicate(timeout=120)
    eq(p.returncode, 128 + sig, "%s: heapscope run passes on the signal's status" % name)
    return rec, err.decode()


for name, sig, group in (("term", signal.SIGTERM, False), ("ctrl-c", signal.SIGINT, True),
                         ("hup", signal.SIGHUP, False), ("quit", signal.SIGQUIT, False)):
    rec, err = killed(name, sig, group)
    check("wrote no recording" not in err, "%s: a recording was written%s"
          % (name, "" if "wrote no recording" not in err else ": " + err))
    check("terminated by signal %d (SIG%s)" % (sig, sig.name[3:]) in err,
          "%s: the summary says how the program ended" % name)
    rep = env.report(rec, "--leaks")
    eq(rep["recording"].get("end_reason"), "signal", "%s: the recording ends with the signal"
       % name)
    leak = stacks_at(rep, "leak_on_term")
    eq((sum_field(leak, "live_blocks"), sum_field(leak, "live_bytes")), (100, 100000),
       "%s: the 100 blocks it allocated before the signal" % name)

# A signal that lands inside the agent's bookkeeping waits for it to end (the writer needs
# its locks) instead of killing the program without a recording: a program that does
# nothing but malloc and free, killed at random moments, always leaves its recording.
lost = []
for i in range(16):
    rec = os.path.join(env.tmp, "churn%d.hsr" % i)
    e = dict(os.environ, LD_PRELOAD=env.agent, HEAPSCOPE_OUTPUT=rec, HEAPSCOPE_AUTOSAVE="0")
    p = subprocess.Popen([prog, "churn"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=e, preexec_fn=default_actions)
    CHILDREN.append(p)
    p.stdout.readline()
    time.sleep(0.005 + 0.003 * i)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    ok = p.returncode == -signal.SIGTERM and os.path.exists(rec)
    if ok:
        rep = env.report(rec, "--leaks")
        ok = (rep["recording"].get("end_reason") == "signal" and
              sum_field(stacks_at(rep, "leak_on_term"), "live_blocks") == 100)
    if not ok:
        lost.append(i)
eq(lost, [], "churning, killed by SIGTERM at 16 moments: every recording written")

# Off: the program dies as before, and nothing was written yet.
rec, err = killed("off", signal.SIGTERM, False, {"HEAPSCOPE_TERM_HANDLER": "0",
                                                 "HEAPSCOPE_AUTOSAVE": "0"})
check("wrote no recording" in err, "HEAPSCOPE_TERM_HANDLER=0: no recording: %r" % err)

# --- python3: its own SIGINT handler, and a SIGTERM that kills it --------------------------
code = ("import os, signal, sys, time\n"
        "print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(10)\n"
        "except KeyboardInterrupt:\n"
        "    print('KeyboardInterrupt')\n"
        "sys.stdout.flush()\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "time.sleep(10)\n"
        "print('still alive')\n")
prec = os.path.join(env.tmp, "py.hsr")
py = run(["/usr/bin/python3", "-c", code], {"LD_PRELOAD": env.agent, "HEAPSCOPE_OUTPUT": prec})
eq((py.returncode, py.stdout.decode()), (-signal.SIGTERM, "True\nKeyboardInterrupt\n"),
   "python3: KeyboardInterrupt as usual, then dies of SIGTERM")
eq(env.report(prec, "--allocs")["recording"].get("end_reason"), "signal",
   "python3: its recording ends with the signal")
finish(env)
