# SPDX-License-Identifier: MIT
"""Real programs from Debian (12 of them) run under heapscope with output and exit status
identical to a run without it; where heaptrack is installed, heapscope's count of
allocation calls agrees with heaptrack's on the same program, to within 0.2% (heaptrack
misses the calls made before its own initialization; the two also start and stop counting
at slightly different points of process start-up and exit)."""
import os
import shutil
import subprocess
from hstest import Env, eq, check, finish

env = Env()
work = os.path.join(env.tmp, "work")
os.makedirs(work)
with open(os.path.join(work, "hello.c"), "w") as f:
    f.write('#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n')
with open(os.path.join(work, "Makefile"), "w") as f:
    f.write("all: a b\n\t@echo done $^\na:\n\t@echo a\nb:\n\t@echo b\n")

base_env = dict(os.environ, PYTHONMALLOC="malloc", PYTHONHASHSEED="0", LC_ALL="C",
                GIT_CONFIG_NOSYSTEM="1", HOME=work)
SQL = ("create table t(a integer primary key, b text);"
       "with recursive c(x) as (select 1 union all select x+1 from c where x<2000) "
       "insert into t select x, printf('%05d', (x * 7919) % 2003) from c;"
       "select count(*), sum(a), max(b) from t;")
programs = [
    ("python3", ["/usr/bin/python3", "-c",
                 "import json,re;d={str(i):[i]*3 for i in range(3000)};"
                 "print(len(json.dumps(d)), len(re.findall(r'\\d+', json.dumps(d))))"]),
    ("sqlite3", ["sqlite3", ":memory:", SQL]),
    ("git", ["sh", "-c", "git init -q r && cd r && git config user.email a@b && "
             "git config user.name t && echo x > f && git add f && "
             "git commit -qm m --date='2020-01-01T00:00:00' && git log --format=%s"]),
    ("perl", ["perl", "-e", "my %h; $h{$_} = [$_ x 3] for 1..20000; "
              "print scalar(keys %h), \"\\n\""]),
    ("bash", ["bash", "-c", "a=(); for i in $(seq 1 2000); do a+=(x$i); done; "
              "echo ${#a[@]} ${a[1999]}"]),
    ("make", ["make", "-s", "-C", work]),
    ("gcc", ["sh", "-c", "gcc -O1 -o hello hello.c && ./hello"]),
    ("sort", ["sh", "-c", "seq 1 50000 | sort -r | head -3"]),
    ("awk", ["awk", "BEGIN { for (i = 0; i < 20000; i++) a[i % 997] = a[i % 997] i; "
             "n = 0; for (k in a) n += length(a[k]); print n }"]),
    ("grep", ["sh", "-c", "seq 1 100000 | grep -E -c '^(1|7)[0-9]*3$'"]),
    ("sed", ["sh", "-c", "seq 1 20000 | sed -n 's/\\(.\\)\\(.*\\)9$/\\2-\\1/p' | "
             "tail -2"]),
    ("tar", ["sh", "-c", "tar -cf - -C / etc/passwd etc/group 2>/dev/null | gzip -9 | "
             "gzip -d | tar -tf -"]),
]

for name, argv in programs:
    if not shutil.which(argv[0]):
        print("skip: %s not installed" % name)
        continue
    plain = subprocess.run(argv, capture_output=True, cwd=work, env=base_env, timeout=300)
    shutil.rmtree(os.path.join(work, "r"), ignore_errors=True)
    rec = os.path.join(env.tmp, name + ".hsr")
    proc = subprocess.run([env.heapscope, "run", "-o", rec, "--no-summary", "--"] + argv,
                          capture_output=True, cwd=work, env=base_env, timeout=300)
    shutil.rmtree(os.path.join(work, "r"), ignore_errors=True)
    eq(proc.returncode, plain.returncode, name + " exit status")
    eq(proc.stdout, plain.stdout, name + " output")
    rep = env.report(rec, "--allocs")
    # Programs run through `sh -c` are recorded as sh (their children have recordings of
    # their own), which allocates little.
    check(rep["summary"].get("alloc_calls", 0) > 10,
          "%s: allocation calls recorded (%s)" % (name, rep["summary"].get("alloc_calls")))
    check(not rep["recording"].get("truncated"), name + " recording complete")

# Allocation calls against heaptrack, on deterministic programs.
if shutil.which("heaptrack") and shutil.which("heaptrack_print"):
    for name, argv in programs[:2]:
        out = os.path.join(env.tmp, "ht-" + name)
        subprocess.run(["heaptrack", "-o", out] + [shutil.which(argv[0])] + argv[1:],
                       capture_output=True, cwd=work, env=base_env, timeout=300)
        files = [f for f in os.listdir(env.tmp) if f.startswith("ht-" + name)]
        if not check(files, "heaptrack wrote a trace for " + name):
            continue
        txt = subprocess.run(["heaptrack_print", "-p", "0", "-a", "0", "-T", "0", "-l", "0",
                              os.path.join(env.tmp, files[0])],
                             capture_output=True, timeout=300).stdout.decode()
        ht = [int(l.split(":")[1].split()[0]) for l in txt.splitlines()
              if l.startswith("calls to allocation functions:")]
        hs = env.report(os.path.join(env.tmp, name + ".hsr"))["summary"]["alloc_calls"]
        if check(ht, "heaptrack_print gave a count for " + name):
            print("%s: heapscope %d calls, heaptrack %d" % (name, hs, ht[0]))
            check(abs(hs - ht[0]) <= max(10, ht[0] // 500),
                  "%s: heapscope %d vs heaptrack %d calls" % (name, hs, ht[0]))
else:
    print("skip: heaptrack not installed, no comparison")
finish(env)
