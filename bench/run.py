#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""heapscope's benchmark: overhead, memory and recording size against heaptrack and valgrind.

Builds the workloads under bench/workloads/ into bench/out/, then runs each
workload plain, under heapscope (exact mode with CFI and with frame-pointer
unwinding, sampled mode, --check), under heaptrack and under valgrind memcheck,
interleaving the tools run by run so that a noisy machine hurts them all alike.
Reports the median wall time with its spread, the overhead over the plain run,
the overhead per allocation call, the ratio of heapscope's overhead to
heaptrack's, peak RSS, the agent's own memory and the size of each tool's
recording; compares the sampled runs' per-stack figures with the exact run's.
Then two side benchmarks: the leak scan's cost over a million live blocks
(scan_million), and `heapscope report` in every format on a recording of 10M
allocation calls over 131,072 stacks (many_stacks). Checks that every run
printed what the plain run printed. Standard library only; see bench/README.md.

It must not change anything outside bench/out/, and a failing tool must not
stop the benchmark: the error is printed and the cell shows "failed".
"""
import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
WORKLOAD_DIR = os.path.join(BENCH_DIR, "workloads")
OUT_DIR = os.path.join(BENCH_DIR, "out")
SYSTEM_PYTHON = "/usr/bin/python3"
SYSTEM_SQLITE = "/usr/bin/sqlite3"
# GNU time runs the command as its own child, so the child's ru_maxrss does not
# start at the RSS of this Python process (which a fork from here would inherit).
TIME_BIN = "/usr/bin/time"


# ---------------------------------------------------------------- workloads

@dataclasses.dataclass
class Workload:
    """A program to measure: how to build it and the command for a scale."""
    name: str
    description: str
    build: Callable[[], Optional[str]]          # returns an error or None
    command: Callable[[float], List[str]]
    env: Dict[str, str] = dataclasses.field(default_factory=dict)


def compile_source(compiler: str, source: str, output: str, flags: List[str]) -> Optional[str]:
    """Compile one workload source into bench/out/; return an error text or None."""
    argv = [compiler, "-O2", "-g", *flags, "-o", os.path.join(OUT_DIR, output),
            os.path.join(WORKLOAD_DIR, source)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as err:
        return "%s: %s" % (compiler, err)
    if proc.returncode != 0:
        return "%s failed:\n%s" % (" ".join(argv), proc.stderr)
    return None


def scaled(base: int, scale: float) -> int:
    """base * scale, at least 1."""
    return max(1, int(round(base * scale)))


def sqlite_script(scale: float) -> str:
    """Write the SQL workload for this scale into bench/out/; return its path."""
    rows = scaled(200_000, scale)
    path = os.path.join(OUT_DIR, "sqlite_load.%d.sql" % rows)
    with open(os.path.join(WORKLOAD_DIR, "sqlite_load.sql"), encoding="utf-8") as src:
        text = src.read().replace("@ROWS@", str(rows))
    with open(path, "w", encoding="utf-8") as dst:
        dst.write(text)
    return path


def check_exists(path: str) -> Optional[str]:
    """An error if the program at path is missing, else None."""
    return None if os.access(path, os.X_OK) else "%s not found" % path


def make_workloads() -> List[Workload]:
    """All workloads, in the order they are reported."""
    storm_flags = ["-fomit-frame-pointer", "-pthread", "-Wall", "-Wextra"]
    storm_bin = os.path.join(OUT_DIR, "malloc_storm")
    return [
        Workload(
            "malloc_storm",
            "C, 2 threads, random sizes 16..4096, 10-deep stacks, no frame pointers",
            lambda: compile_source("gcc", "malloc_storm.c", "malloc_storm", storm_flags),
            lambda s: [storm_bin, "2", str(scaled(6_000_000, s))]),
        Workload(
            "malloc_storm8",
            "the same with 8 threads (same total allocation count)",
            lambda: compile_source("gcc", "malloc_storm.c", "malloc_storm", storm_flags),
            lambda s: [storm_bin, "8", str(scaled(1_500_000, s))]),
        Workload(
            "cxx_containers",
            "C++ std::map/unordered_map/string/vector churn",
            lambda: compile_source("g++", "cxx_containers.cpp", "cxx_containers",
                                   ["-Wall", "-Wextra"]),
            lambda s: [os.path.join(OUT_DIR, "cxx_containers"), str(scaled(800, s))]),
        Workload(
            "python3",
            "/usr/bin/python3, PYTHONMALLOC=malloc: dicts, lists, strings, json",
            lambda: check_exists(SYSTEM_PYTHON),
            lambda s: [SYSTEM_PYTHON, os.path.join(WORKLOAD_DIR, "py_churn.py"),
                       str(scaled(600, s))],
            {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}),
        Workload(
            "sqlite3",
            "/usr/bin/sqlite3 :memory:, recursive CTE insert, indexes, group by",
            lambda: check_exists(SYSTEM_SQLITE),
            lambda s: [SYSTEM_SQLITE, ":memory:", ".read " + sqlite_script(s)]),
    ]


# ---------------------------------------------------------------- tools

@dataclasses.dataclass
class Invocation:
    """One command line to measure and where its recording will be."""
    argv: List[str]
    env: Dict[str, str]
    recording: Optional[str] = None
    filter_stdout: Callable[[str], str] = lambda text: text


@dataclasses.dataclass
class Tool:
    """A way of running a workload: plain or under a profiler."""
    key: str
    label: str
    wrap: Callable[[List[str], str], Invocation]   # (workload argv, recording base)
    small_input: bool = False                      # runs at --valgrind-scale
    missing: Optional[str] = None                  # why it cannot run, if it cannot


def strip_heaptrack_chatter(text: str) -> str:
    """Remove what the heaptrack wrapper script prints around the program's output."""
    lines = text.splitlines(keepends=True)
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Heaptrack finished!"):
            lines = lines[:i]
            break
    head = 0
    while head < len(lines) and head < 3 and (
            lines[head].startswith("heaptrack output will be written to")
            or lines[head].rstrip().endswith("libheaptrack_preload.so")
            or lines[head].startswith("starting application")):
        head += 1
    return "".join(lines[head:])


def sample_key(i: int) -> str:
    """The key of the i-th sampled tool (--sample A,B,...): hs_sample, hs_sample2, ..."""
    return "hs_sample" if i == 0 else "hs_sample%d" % (i + 1)


def make_tools(heapscope: str, skip_valgrind: bool, samples: List[str]) -> List[Tool]:
    """The plain run and every profiler, with a reason where one cannot run.

    Exact runs do a leak scan at exit by default; the timing rows turn it off
    (--leak-check=none) and the scan is measured on its own (scan_bench). The
    --check row beside memcheck keeps the scan, as memcheck --leak-check=full does.
    """
    def plain(argv, _base):
        return Invocation(argv, {})

    def heapscope_run(unwind, options):
        def wrap(argv, base):
            rec = base + ".hsr"
            env = {"HEAPSCOPE_UNWIND": unwind} if unwind else {}
            return Invocation([heapscope, "run", "-o", rec, "--no-summary"] + options
                              + ["--"] + argv, env, rec)
        return wrap

    # The wrapper script compresses with zstd when it has it, else with gzip.
    heaptrack_suffix = ".zst" if shutil.which("zstd") else ".gz"

    def heaptrack(argv, base):
        return Invocation(["heaptrack", "-o", base] + argv, {}, base + heaptrack_suffix,
                          strip_heaptrack_chatter)

    # The cost of interposing at all (bench/workloads/interposer_floor.c).
    floor_so = os.path.join(OUT_DIR, "libinterposer_floor.so")
    floor_missing = compile_source("gcc", "interposer_floor.c", "libinterposer_floor.so",
                                   ["-fPIC", "-shared"])

    def floor(argv, _base):
        return Invocation(argv, {"LD_PRELOAD": floor_so})

    def memcheck(argv, _base):
        return Invocation(["valgrind", "--tool=memcheck", "--leak-check=full", "-q"] + argv,
                          {})

    hs_missing = None if os.access(heapscope, os.X_OK) else "%s not found" % heapscope
    ht_missing = None if shutil.which("heaptrack") else "heaptrack not installed"
    vg_missing = None if shutil.which("valgrind") else "valgrind not installed"
    if skip_valgrind:
        vg_missing = "skipped (--skip-valgrind)"
    no_scan = ["--leak-check=none"]
    return [
        Tool("plain", "plain", plain),
        Tool("floor", "interposer floor (malloc pass-through)", floor, missing=floor_missing),
        Tool("hs_cfi", "heapscope exact (cfi)", heapscope_run(None, no_scan),
             missing=hs_missing),
        Tool("hs_fp", "heapscope exact fp (frames/call shown)", heapscope_run("fp", no_scan),
             missing=hs_missing),
    ] + [
        Tool(sample_key(i), "heapscope sampled %s" % sample,
             heapscope_run(None, ["--sample", sample] + no_scan), missing=hs_missing)
        for i, sample in enumerate(samples)
    ] + [
        Tool("hs_check", "heapscope --check", heapscope_run(None, ["--check"] + no_scan),
             missing=hs_missing),
        Tool("heaptrack", "heaptrack", heaptrack, missing=ht_missing),
        Tool("plain_small", "plain (small input)", plain, small_input=True,
             missing=vg_missing),
        Tool("hs_check_small", "heapscope --check, leak scan (small input)",
             heapscope_run(None, ["--check", "--leak-check=full"]), small_input=True,
             missing=vg_missing or hs_missing),
        Tool("memcheck", "memcheck (small input)", memcheck, small_input=True,
             missing=vg_missing),
    ]


# ---------------------------------------------------------------- measuring

@dataclasses.dataclass
class Run:
    """What one measured run gave."""
    wall_s: float = 0.0
    cpu_s: float = 0.0      # user + system time of the command's whole tree
    rss_kb: int = 0
    recording_bytes: Optional[int] = None
    stdout: str = ""
    error: Optional[str] = None


def session_pids(sid: int) -> List[int]:
    """The processes in session sid (the measured command's whole tree)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 3 and int(fields[3]) == sid:
            pids.append(int(entry))
    return pids


def rss_kb(pid: int) -> int:
    """Resident set size of pid in KiB, 0 if it is gone."""
    try:
        with open("/proc/%d/statm" % pid, "rb") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of a process tree (one session) until stopped.

    ru_maxrss of a child is the largest single process of its tree, which
    misses heaptrack's interpreter running beside the program; this adds the
    tree up. It looks for new processes every 200 ms and reads the known
    ones' RSS every 20 ms, so it costs well under 1% of a core.
    """

    def __init__(self, sid: int, exclude: Optional[int]):
        super().__init__(daemon=True)
        self.sid = sid
        self.exclude = exclude
        self.peak_kb = 0
        self.stop_event = threading.Event()

    def run(self):
        pids: List[int] = []
        tick = 0
        while not self.stop_event.is_set():
            if tick % 10 == 0:
                pids = [p for p in session_pids(self.sid) if p != self.exclude]
            self.peak_kb = max(self.peak_kb, sum(rss_kb(p) for p in pids))
            tick += 1
            self.stop_event.wait(0.02)

    def stop(self) -> int:
        """Stop sampling; return the peak in KiB."""
        self.stop_event.set()
        self.join()
        return self.peak_kb


def kill_session(pid: int):
    """Kill the measured command's session (used on timeout)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def describe_status(status: int) -> Optional[str]:
    """An error for a non-zero wait status, else None."""
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    return None if code == 0 else "exit status %d" % code


def read_time_rss(path: str) -> int:
    """The %M figure (KiB) GNU time wrote to path, 0 if there is none."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split()
        return int(lines[-1]) if lines else 0
    except (OSError, ValueError):
        return 0


def measure(inv: Invocation, base_env: Dict[str, str], out_base: str, timeout: float) -> Run:
    """Run one command in a fresh session; time it and take its peak RSS.

    Peak RSS is the larger of the biggest single process of the command's
    tree (ru_maxrss, through GNU time when it is installed) and the sampled
    sum of the whole tree. The command's stdout goes to a file (read back for
    the output check) and its stderr to another, kept in bench/out/.
    """
    env = dict(base_env)
    env.update(inv.env)
    for stale in (inv.recording, out_base + ".rss"):
        if stale and os.path.exists(stale):
            os.unlink(stale)
    argv = inv.argv
    use_time = os.access(TIME_BIN, os.X_OK)
    if use_time:
        argv = [TIME_BIN, "-f", "%M", "-o", out_base + ".rss"] + argv
    with open(out_base + ".stdout", "w+b") as out, open(out_base + ".stderr", "w+b") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env=env, cwd=OUT_DIR, start_new_session=True)
        except OSError as error:
            return Run(error="cannot start %s: %s" % (argv[0], error))
        sampler = TreeRssSampler(proc.pid, proc.pid if use_time else None)
        sampler.start()
        timer = threading.Timer(timeout, kill_session, (proc.pid,))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = status  # already reaped; keep Popen from waiting again
        tree_kb = sampler.stop()
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        err.seek(0)
        stderr_tail = err.read()[-2000:].decode("utf-8", "replace")
    largest_kb = read_time_rss(out_base + ".rss") if use_time else usage.ru_maxrss
    # wait4's usage covers the command and every descendant it waited for (GNU time waits
    # for the program; heaptrack's script for its interpreter and compressor)
    run = Run(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
              rss_kb=max(largest_kb, tree_kb), stdout=inv.filter_stdout(stdout))
    run.error = describe_status(status)
    if run.error and wall >= timeout:
        run.error = "timed out after %.0f s" % timeout
    if run.error:
        run.error += "; stderr ends:\n" + stderr_tail
    elif inv.recording:
        try:
            run.recording_bytes = os.path.getsize(inv.recording)
        except OSError:
            run.error = "no recording at %s" % inv.recording
    return run


@dataclasses.dataclass
class RecordingStats:
    """What a heapscope recording says about the run it recorded."""
    alloc_calls: int
    mean_frames: Optional[float]   # unwound frames per allocation call (inlined ones not counted)
    agent_bytes: Optional[int]     # the agent's own memory at the end, as it reports it
    agent_memory: Dict[str, int]   # its parts (arena, pointer map, stack table)
    nstacks: int
    peak_bytes: int


def report_json(heapscope: str, recording: str, *args: str) -> Optional[dict]:
    """`heapscope report RECORDING --format json ARGS` as a dict; None (said) on failure."""
    argv = [heapscope, "report", recording, "--format", "json"] + list(args)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
        return json.loads(proc.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as err:
        print("bench: cannot read %s: %s" % (recording, err), file=sys.stderr)
        return None


def recording_stats(heapscope: str, recording: str,
                    report: Optional[dict] = None) -> Optional[RecordingStats]:
    """Read allocation calls and stack depth from a recording; None if it cannot be read."""
    report = report or report_json(heapscope, recording, "--allocs", "--top", "0")
    try:
        calls = int(report["summary"]["alloc_calls"])
        weighted = sum(st["alloc_calls"] * sum(1 for f in st["frames"] if not f.get("inlined"))
                       for st in report["stacks"])
        counted = sum(st["alloc_calls"] for st in report["stacks"])
        rec = report["recording"]
        return RecordingStats(calls, weighted / counted if counted else None,
                              rec.get("agent_bytes"), rec.get("agent_memory") or {},
                              int(report["summary"]["stacks"]),
                              int(report["summary"]["peak_bytes"]))
    except (KeyError, TypeError, ValueError) as err:
        print("bench: cannot read %s: %s" % (recording, err), file=sys.stderr)
        return None


# ---------------------------------------------------------------- sampling accuracy

ACCURACY_TOP = 5            # stacks compared per workload: the top ones by exact figure
ACCURACY_MIN_SHARE = 0.01   # ... holding at least this share of the exact total


def stack_key(stack: dict) -> tuple:
    """A stack's identity across runs: allocator and frame functions (ids and addresses
    differ from run to run); a frame without a function counts as its module's name."""
    names = tuple(f.get("function") or os.path.basename(f.get("module") or "?")
                  for f in stack.get("frames", []))
    return (stack.get("allocator"), names)


def by_key(report: dict) -> Dict[tuple, Dict[str, int]]:
    """peak_bytes and live_bytes per stack key (stacks sharing a key added up), and with
    sampling the squares of their 95% margins (added up: independent samples)."""
    out: Dict[tuple, Dict[str, int]] = {}
    for st in report.get("stacks", []):
        fig = out.setdefault(stack_key(st), {"peak_bytes": 0, "live_bytes": 0,
                                             "peak_bytes_margin2": 0, "live_bytes_margin2": 0})
        for field in ("peak_bytes", "live_bytes"):
            fig[field] += int(st.get(field, 0))
            fig[field + "_margin2"] += int(st.get(field + "_margin", 0)) ** 2
    return out


def margin_of(sampled: Dict[tuple, Dict[str, int]], key: tuple, field: str,
              interval: int) -> float:
    """The sampled report's 95% margin for a stack key; for a stack it does not list (no
    sample fell there), the margin of an estimate of 0 (docs/AGENT.md's formula)."""
    if key in sampled:
        return math.sqrt(sampled[key][field + "_margin2"])
    i = interval * (2 if field == "peak_bytes" else 1)
    return 1.96 * i


@dataclasses.dataclass
class Accuracy:
    """One sampled run against the exact run: worst relative errors of the top stacks."""
    peak_stacks: int                # stacks compared for peak bytes
    peak_worst: Optional[float]     # largest |sampled - exact| / exact among them
    peak_samples: Optional[float]   # expected samples in the smallest of them: exact / interval
    live_stacks: int
    live_worst: Optional[float]
    live_samples: Optional[float]
    total_peak_error: Optional[float]   # of the whole heap's peak
    peak_within: int = 0            # compared stacks whose exact figure lies in the margin
    live_within: int = 0
    total_within: int = 0           # 1 when the heap's exact peak lies in its margin


def worst_error(exact: Dict[tuple, Dict[str, int]], sampled: Dict[tuple, Dict[str, int]],
                field: str, total: int, interval: int):
    """(stacks compared, worst relative error, expected samples in the smallest compared
    stack, stacks whose exact figure lies within the sampled margin) over the exact top
    stacks by field."""
    floor = ACCURACY_MIN_SHARE * total
    top = sorted((k for k in exact if exact[k][field] >= floor and exact[k][field] > 0),
                 key=lambda k: -exact[k][field])[:ACCURACY_TOP]
    diffs = [abs(sampled.get(k, {}).get(field, 0) - exact[k][field]) for k in top]
    errors = [d / exact[k][field] for d, k in zip(diffs, top)]
    within = sum(d <= margin_of(sampled, k, field, interval) for d, k in zip(diffs, top))
    samples = exact[top[-1]][field] / interval if top and interval else None
    return len(top), (max(errors) if errors else None), samples, within


def accuracy(exact: dict, sampled: dict) -> Accuracy:
    """Compare a sampled run's --allocs report with the exact run's."""
    ex, sa = by_key(exact), by_key(sampled)
    interval = int(sampled["recording"].get("sample_interval") or 0)
    live_total = sum(v["live_bytes"] for v in ex.values())
    exact_peak = int(exact["summary"]["peak_bytes"])
    peak = worst_error(ex, sa, "peak_bytes", exact_peak, interval)
    live = worst_error(ex, sa, "live_bytes", live_total, interval)
    diff = abs(int(sampled["summary"]["peak_bytes"]) - exact_peak)
    total = diff / exact_peak if exact_peak else None
    total_within = int(diff <= int(sampled["summary"].get("peak_bytes_margin", 0)))
    return Accuracy(peak[0], peak[1], peak[2], live[0], live[1], live[2], total,
                    peak[3], live[3], total_within)


# ---------------------------------------------------------------- one workload

@dataclasses.dataclass
class Cell:
    """All runs of one tool on one workload."""
    tool: Tool
    runs: List[Run] = dataclasses.field(default_factory=list)
    mismatches: int = 0
    failures: int = 0
    stats: Optional[RecordingStats] = None     # heapscope tools: from the first recording
    accuracy: List[Accuracy] = dataclasses.field(default_factory=list)  # sampled: per run

    def good(self) -> List[Run]:
        return [r for r in self.runs if not r.error]

    def median_wall(self) -> Optional[float]:
        good = self.good()
        return statistics.median(r.wall_s for r in good) if good else None

    def median_cpu(self) -> Optional[float]:
        good = self.good()
        return statistics.median(r.cpu_s for r in good) if good else None

    def median_rss_kb(self) -> Optional[float]:
        good = self.good()
        return statistics.median(r.rss_kb for r in good) if good else None

    def median_recording(self) -> Optional[float]:
        sizes = [r.recording_bytes for r in self.good() if r.recording_bytes is not None]
        return statistics.median(sizes) if sizes else None


@dataclasses.dataclass
class WorkloadResult:
    """Every tool's cell for one workload, and the build error if it did not build."""
    workload: Workload
    cells: Dict[str, Cell]
    error: Optional[str] = None
    exact_report: Optional[dict] = None     # --allocs report of the first exact recording

    @property
    def alloc_calls(self) -> Optional[int]:
        """Allocation calls, from heapscope's recording (CFI's if both ran)."""
        for key in ("hs_cfi", "hs_fp"):
            if self.cells[key].stats:
                return self.cells[key].stats.alloc_calls
        return None


def check_output(cell: Cell, run: Run, reference: Optional[str], where: str):
    """Compare a run's stdout with the plain run's; complain loudly on a mismatch."""
    if reference is None or run.error or run.stdout == reference:
        return
    cell.mismatches += 1
    print("bench: *** OUTPUT MISMATCH *** %s: expected %r, got %r"
          % (where, reference[:300], run.stdout[:300]), file=sys.stderr)


def run_workload(wl: Workload, tools: List[Tool], opts, base_env) -> WorkloadResult:
    """Run every available tool on one workload, interleaved run by run."""
    cells = {t.key: Cell(t) for t in tools}
    result = WorkloadResult(wl, cells)
    result.error = wl.build()
    if result.error:
        print("bench: %s: cannot build: %s" % (wl.name, result.error), file=sys.stderr)
        return result
    env = dict(base_env)
    env.update(wl.env)
    argv = {False: wl.command(opts.scale), True: wl.command(opts.scale * opts.valgrind_scale)}
    reference: Dict[bool, Optional[str]] = {False: None, True: None}
    for i in range(max(opts.runs, opts.valgrind_runs)):
        for tool in tools:
            limit = opts.valgrind_runs if tool.small_input else opts.runs
            if tool.missing or i >= limit:
                continue
            base = os.path.join(OUT_DIR, "%s.%s" % (wl.name, tool.key))
            inv = tool.wrap(argv[tool.small_input], base)
            run = measure(inv, env, base, opts.timeout)
            where = "%s / %s run %d" % (wl.name, tool.label, i + 1)
            if run.error:
                cells[tool.key].failures += 1
                print("bench: %s failed: %s" % (where, run.error), file=sys.stderr)
            elif tool.key.startswith("plain") and reference[tool.small_input] is None:
                reference[tool.small_input] = run.stdout
            check_output(cells[tool.key], run, reference[tool.small_input], where)
            cells[tool.key].runs.append(run)
            print("bench: %-15s %-24s run %d: %s" % (
                wl.name, tool.label, i + 1,
                "failed" if run.error else "%.2f s (cpu %.2f s), %.0f MB"
                % (run.wall_s, run.cpu_s, run.rss_kb / 1024)),
                file=sys.stderr)
            if tool.key.startswith("hs_") and not run.error:
                after_heapscope_run(result, cells[tool.key], opts.heapscope, inv.recording)
    return result


def after_heapscope_run(result: WorkloadResult, cell: Cell, heapscope: str, recording: str):
    """Read what the benchmark needs from a heapscope recording: the first one's
    statistics, the first exact one's stacks, and each sampled one's accuracy."""
    key = cell.tool.key
    needs_report = (cell.stats is None or key.startswith("hs_sample")
                    or (key == "hs_cfi" and result.exact_report is None))
    if not needs_report:
        return
    report = report_json(heapscope, recording, "--allocs", "--top", "0")
    if report is None:
        return
    if cell.stats is None:
        cell.stats = recording_stats(heapscope, recording, report)
    if key == "hs_cfi" and result.exact_report is None:
        result.exact_report = report
    if key.startswith("hs_sample") and result.exact_report is not None:
        try:
            cell.accuracy.append(accuracy(result.exact_report, report))
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as err:
            print("bench: accuracy of %s: %s" % (recording, err), file=sys.stderr)


# ---------------------------------------------------------------- the table

COLUMNS = ["workload", "tool", "runs", "wall s: median (min-max)", "overhead",
           "ns/alloc", "vs heaptrack", "cpu s", "cpu overhead", "cpu vs heaptrack", "frames",
           "peak RSS MB", "RSS x plain", "agent MB", "recording", "size x heaptrack", "output"]


def fmt(value: Optional[float], pattern: str) -> str:
    """Format a number, or '-' when there is none."""
    return "-" if value is None else pattern % value


def fmt_bytes(n: Optional[float]) -> str:
    """A byte count in B, KB or MB (powers of 1000), or '-'."""
    if n is None:
        return "-"
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return "%.*f %s" % (1 if n >= 10 * scale else 2, n / scale, unit)
    return "%d B" % n


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    """a / b, or None when either is missing or b is not positive."""
    return a / b if a is not None and b is not None and b > 0 else None


def overhead_of(res: WorkloadResult, key: str, cpu: bool = False) -> Optional[float]:
    """instrumented / plain - 1, against the plain run at the same input size: of the median
    wall times, or with cpu, of the median CPU times (user + system, whole process tree)."""
    cell = res.cells[key]
    plain = res.cells["plain_small" if cell.tool.small_input else "plain"]
    if cpu:
        r = ratio(cell.median_cpu(), plain.median_cpu())
    else:
        r = ratio(cell.median_wall(), plain.median_wall())
    return None if r is None else r - 1.0


def row_for(res: WorkloadResult, key: str) -> List[str]:
    """One table row: a tool's figures on a workload."""
    cell = res.cells[key]
    tool = cell.tool
    if tool.missing:
        return [res.workload.name, tool.label] + ["-"] * (len(COLUMNS) - 3) + [tool.missing]
    good = cell.good()
    if not good:
        status = "build failed" if res.error else "failed"
        return ([res.workload.name, tool.label, "0/%d" % len(cell.runs)]
                + ["-"] * (len(COLUMNS) - 4) + [status])
    walls = [r.wall_s for r in good]
    plain = res.cells["plain_small" if tool.small_input else "plain"]
    over = overhead_of(res, key)
    is_plain = key.startswith("plain")
    ns_per_alloc = None
    if not is_plain and not tool.small_input and res.alloc_calls and plain.median_wall():
        ns_per_alloc = (cell.median_wall() - plain.median_wall()) / res.alloc_calls * 1e9
    over_cpu = overhead_of(res, key, cpu=True)
    vs_heaptrack = vs_heaptrack_cpu = None
    size_ratio = None
    if key.startswith("hs_") and not tool.small_input:
        vs_heaptrack = ratio(over, overhead_of(res, "heaptrack"))
        vs_heaptrack_cpu = ratio(over_cpu, overhead_of(res, "heaptrack", cpu=True))
        size_ratio = ratio(cell.median_recording(), res.cells["heaptrack"].median_recording())
    agent_bytes = cell.stats.agent_bytes if cell.stats else None
    rec = cell.median_recording()
    output = "ok"
    if cell.mismatches:
        output = "MISMATCH %d/%d" % (cell.mismatches, len(cell.runs))
    if cell.failures:
        output += ", %d failed" % cell.failures
    return [
        res.workload.name, tool.label, "%d" % len(good),
        "%.2f (%.2f-%.2f)" % (cell.median_wall(), min(walls), max(walls)),
        "-" if is_plain else fmt(over and over * 100, "%+.0f%%"),
        fmt(ns_per_alloc, "%.0f"),
        fmt(vs_heaptrack, "%.2f"),
        fmt(cell.median_cpu(), "%.2f"),
        "-" if is_plain else fmt(over_cpu and over_cpu * 100, "%+.0f%%"),
        fmt(vs_heaptrack_cpu, "%.2f"),
        fmt(cell.stats and cell.stats.mean_frames, "%.1f"),
        fmt(cell.median_rss_kb() / 1024, "%.1f"),
        "-" if is_plain else fmt(ratio(cell.median_rss_kb(), plain.median_rss_kb()), "%.2f"),
        fmt(agent_bytes and agent_bytes / 2**20, "%.1f"),
        fmt_bytes(rec),
        fmt(size_ratio, "%.3f"),
        output,
    ]


def table_rows(results: List[WorkloadResult]) -> List[List[str]]:
    """Every row of the results table."""
    rows = []
    for res in results:
        for key in res.cells:
            rows.append(row_for(res, key))
    return rows


def render_text(rows: List[List[str]], columns: List[str] = COLUMNS, group: bool = True) -> str:
    """A table in fixed-width columns for a terminal (a blank line between groups of rows
    that differ in the first column, when group is set)."""
    widths = [max(len(r[i]) for r in [columns] + rows) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    previous = None
    for r in rows:
        if group and previous is not None and r[0] != previous:
            lines.append("")
        previous = r[0]
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def render_markdown(rows: List[List[str]], columns: List[str] = COLUMNS) -> str:
    """A table as GitHub Markdown."""
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)


def verdict(value: Optional[float], limit: float, fmt_: str = "%.2f") -> str:
    """'0.21 (meets 0.25)' / '0.31 (over 0.25)', or '-'."""
    if value is None:
        return "-"
    return (fmt_ + " (%s " + fmt_ + ")") % (value, "meets" if value <= limit else "over", limit)


def pct_verdict(value: Optional[float], limit: float) -> str:
    """verdict() of an overhead given as a fraction, in percent: '+3.1% (meets 5.0%)'."""
    if value is None:
        return "-"
    return verdict(value * 100, limit, "%+.1f%%").replace("(meets +", "(meets ") \
        .replace("(over +", "(over ")


def summary_lines(results: List[WorkloadResult]) -> List[str]:
    """Per workload, each target of the issues: exact overhead vs heaptrack's (0.25), of wall
    and of CPU time, sampled overhead (5%), peak RSS x plain (1.5), recording size x
    heaptrack's (0.05), and --check beside memcheck."""
    lines = []
    for res in results:
        c = res.cells
        calls = fmt(res.alloc_calls and res.alloc_calls / 1e6, "%.2f M")
        ht = overhead_of(res, "heaptrack")
        exact = ratio(overhead_of(res, "hs_cfi"), ht)
        exact_cpu = ratio(overhead_of(res, "hs_cfi", cpu=True),
                          overhead_of(res, "heaptrack", cpu=True))
        fp = ratio(overhead_of(res, "hs_fp"), ht)
        floor = overhead_of(res, "floor")
        floor_cpu = overhead_of(res, "floor", cpu=True)
        rss = ratio(c["hs_cfi"].median_rss_kb(), c["plain"].median_rss_kb())
        rss_s = ratio(c["hs_sample"].median_rss_kb(), c["plain"].median_rss_kb())
        size = ratio(c["hs_cfi"].median_recording(), c["heaptrack"].median_recording())
        chk = overhead_of(res, "hs_check_small")
        mc = overhead_of(res, "memcheck")
        lines.append(
            "%s: %s allocation calls; exact (cfi) overhead / heaptrack's: wall %s, CPU %s "
            "[fp, wall: %s]; sampled overhead: wall %s, CPU %s (interposer floor %s, %s); "
            "peak RSS x plain: exact %s, sampled %s; recording / heaptrack's %s; --check "
            "(small input) %s vs memcheck %s (%s)"
            % (res.workload.name, calls, verdict(exact, 0.25), verdict(exact_cpu, 0.25),
               fmt(fp, "%.2f"), pct_verdict(overhead_of(res, "hs_sample"), 5.0),
               pct_verdict(overhead_of(res, "hs_sample", cpu=True), 5.0),
               fmt(floor and floor * 100, "%+.1f%%"),
               fmt(floor_cpu and floor_cpu * 100, "%+.1f%%"),
               verdict(rss, 1.5), fmt(rss_s, "%.2f"), verdict(size, 0.05, "%.3f"),
               fmt(chk and chk * 100, "%+.0f%%"), fmt(mc and mc * 100, "%+.0f%%"),
               fmt(ratio(chk, mc), "%.2f of memcheck's overhead"))
            + noisy_plain(c["plain"]))
    return lines


NOISY_SPREAD = 1.2


def noisy_plain(plain: Cell) -> str:
    """'; plain runs spread 1.01-1.48 s: noisy' when the slowest plain run took more than
    NOISY_SPREAD times the fastest (every ratio above rests on the plain median), else ''."""
    walls = [r.wall_s for r in plain.good()]
    if len(walls) < 2 or min(walls) <= 0 or max(walls) <= NOISY_SPREAD * min(walls):
        return ""
    return "; plain runs spread %.2f-%.2f s: noisy" % (min(walls), max(walls))


ACCURACY_COLUMNS = ["workload", "interval", "sampled runs", "peak: stacks (fewest samples)",
                    "peak: worst error median (max)", "live: stacks (fewest samples)",
                    "live: worst error median (max)", "heap peak error median (max)",
                    "within the stated margin: peak, live, heap peak"]


def stacks_samples(n: int, samples: Optional[float]) -> str:
    """'5 (18.8)': stacks compared and the expected samples in the smallest, or '0'."""
    return "%d (%s)" % (n, "%.1f" % samples) if n and samples is not None else str(n)


def pct_spread(values: List[Optional[float]]) -> str:
    """'3.1% (7.9%)': median and max of relative errors, or '-'."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    return "%.1f%% (%.1f%%)" % (100 * statistics.median(vals), 100 * max(vals))


ACCURACY_NOTE = (
    "Sampled against exact: per stack (matched by allocator and frame functions), the relative "
    "error of the sampled estimate of peak bytes (live at the heap's peak) and of live bytes at "
    "the end, for the top %d stacks by the exact figure among those holding at least %d%% of "
    "the exact total (smaller stacks hold few samples and are noise); the worst of them per "
    "run, median and max over the sampled runs; and the error of the whole heap's peak. "
    "'fewest samples' is the smallest compared stack's exact figure / the interval: the "
    "samples its estimate rests on (relative standard error about 1/sqrt of it). 'within "
    "the stated margin': of the figures compared over all runs, those whose exact value lies "
    "within the 95%% margin the sampled report gives with its estimate."
    % (ACCURACY_TOP, round(ACCURACY_MIN_SHARE * 100)))


def accuracy_rows(results: List[WorkloadResult]) -> List[List[str]]:
    """Per workload: how far the sampled runs' per-stack figures are from the exact run's."""
    rows = []
    for res, key in [(r, k) for r in results for k in r.cells if k.startswith("hs_sample")]:
        acc = res.cells[key].accuracy
        interval = res.cells[key].tool.label.rsplit(" ", 1)[-1]
        if not acc:
            rows.append([res.workload.name, interval, "0"]
                        + ["-"] * (len(ACCURACY_COLUMNS) - 3))
            continue
        first = acc[0]
        rows.append([res.workload.name, interval, str(len(acc)),
                     stacks_samples(first.peak_stacks, first.peak_samples),
                     pct_spread([a.peak_worst for a in acc]),
                     stacks_samples(first.live_stacks, first.live_samples),
                     pct_spread([a.live_worst for a in acc]),
                     pct_spread([a.total_peak_error for a in acc]),
                     "%d/%d, %d/%d, %d/%d" % (
                         sum(a.peak_within for a in acc), sum(a.peak_stacks for a in acc),
                         sum(a.live_within for a in acc), sum(a.live_stacks for a in acc),
                         sum(a.total_within for a in acc), len(acc))])
    return rows


# ---------------------------------------------------------------- side benchmarks

SIDE_COLUMNS = ["run", "runs", "wall s: median (min-max)", "peak RSS MB", "agent MB", "output"]


@dataclasses.dataclass
class SideResult:
    """A side benchmark (leak scan, big report): its table and its conclusions."""
    title: str
    rows: List[List[str]]
    lines: List[str]
    columns: List[str] = dataclasses.field(default_factory=lambda: list(SIDE_COLUMNS))


def side_row(label: str, cell: Cell, agent: Optional[int], output: str) -> List[str]:
    """One row of a side table."""
    good = cell.good()
    if not good:
        return [label, "0/%d" % len(cell.runs), "-", "-", "-", "failed"]
    walls = [r.wall_s for r in good]
    return [label, str(len(good)),
            "%.2f (%.2f-%.2f)" % (cell.median_wall(), min(walls), max(walls)),
            "%.1f" % (cell.median_rss_kb() / 1024), fmt(agent and agent / 2**20, "%.1f"),
            output]


def measure_into(cell: Cell, inv: Invocation, env, base: str, opts, what: str) -> Run:
    """measure() one run into cell, saying on stderr how it went."""
    run = measure(inv, env, base, opts.timeout)
    if run.error:
        cell.failures += 1
        print("bench: %s failed: %s" % (what, run.error), file=sys.stderr)
    cell.runs.append(run)
    print("bench: %-40s %s" % (what, "failed" if run.error else "%.2f s, %.0f MB"
                               % (run.wall_s, run.rss_kb / 1024)), file=sys.stderr)
    return run


SCAN_BLOCKS = 1_000_000


def leak_blocks(report: Optional[dict]) -> Optional[Dict[str, int]]:
    """Blocks per leak category from a report's leak summary, None without a scan."""
    try:
        summary = report["leak_summary"]
        if not summary or not summary.get("classified"):
            return None
        return {k: int(summary[k]["blocks"]) for k in
                ("definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable")}
    except (KeyError, TypeError, ValueError):
        return None


def run_scan_bench(opts, base_env) -> SideResult:
    """The leak scan's cost at exit over a million live blocks: --leak-check=full against
    --leak-check=none on scan_million, interleaved run by run."""
    title = "Leak scan over a million live blocks"
    error = compile_source("gcc", "scan_million.c", "scan_million", ["-Wall", "-Wextra"])
    if error:
        return SideResult(title, [], ["cannot build scan_million: " + error])
    blocks = scaled(SCAN_BLOCKS, opts.scale)
    argv = [os.path.join(OUT_DIR, "scan_million"), str(blocks)]
    hs = [opts.heapscope, "run", "--no-summary", "-o"]
    variants = {
        "plain": ("plain", lambda base: Invocation(argv, {})),
        "none": ("heapscope exact, --leak-check=none",
                 lambda base: Invocation(hs + [base + ".hsr", "--leak-check=none", "--"] + argv,
                                         {}, base + ".hsr")),
        "full": ("heapscope exact, --leak-check=full",
                 lambda base: Invocation(hs + [base + ".hsr", "--leak-check=full", "--"] + argv,
                                         {}, base + ".hsr")),
    }
    cells = {k: Cell(Tool(k, label, lambda a, b: Invocation(a, {}))) for k, (label, _) in
             variants.items()}
    agent: Dict[str, Optional[int]] = {}
    classified: List[Dict[str, int]] = []
    parts: Dict[str, int] = {}
    for i in range(opts.runs):
        for key, (label, make) in variants.items():
            base = os.path.join(OUT_DIR, "scan_million." + key)
            inv = make(base)
            run = measure_into(cells[key], inv, base_env, base, opts,
                               "scan_million / %s run %d" % (key, i + 1))
            if run.error or not inv.recording:
                continue
            report = report_json(opts.heapscope, inv.recording, "--top", "1")
            if report and key not in agent:
                agent[key] = report.get("recording", {}).get("agent_bytes")
                parts = report.get("recording", {}).get("agent_memory") or parts
            if key == "full" and leak_blocks(report):
                classified.append(leak_blocks(report))
    rows = [side_row(label, cells[k], agent.get(k), "ok" if not cells[k].failures
                     else "%d failed" % cells[k].failures) for k, (label, _) in variants.items()]
    return SideResult(title, rows, scan_lines(cells, blocks, classified, parts))


def scan_lines(cells: Dict[str, Cell], blocks: int, classified: List[Dict[str, int]],
               parts: Dict[str, int]) -> List[str]:
    """What the scan bench concludes: the scan's cost, per block, and what it found."""
    lines = []
    full, none = cells["full"].median_wall(), cells["none"].median_wall()
    if full is not None and none is not None:
        lines.append("scan cost (median wall, full - none): %.3f s for %d live blocks: %.0f ns "
                     "per live block" % (full - none, blocks, (full - none) / blocks * 1e9))
    rss_full, rss_none = cells["full"].median_rss_kb(), cells["none"].median_rss_kb()
    if rss_full and rss_none:
        lines.append("memory of the scan (median peak RSS, full - none): %.1f MiB, %.0f bytes "
                     "per live block" % ((rss_full - rss_none) / 1024,
                                         (rss_full - rss_none) * 1024 / blocks))
    if parts.get("pointer_map_entries"):
        lines.append("agent's pointer map: %.1f MiB for %d entries (%.1f bytes per live block); "
                     "arena %.1f MiB, stack table %.1f MiB" % (
                         parts.get("pointer_map_bytes", 0) / 2**20, parts["pointer_map_entries"],
                         parts.get("pointer_map_bytes", 0) / parts["pointer_map_entries"],
                         parts.get("arena_bytes", 0) / 2**20,
                         parts.get("stack_table_bytes", 0) / 2**20))
    lost = blocks // 10
    for i, c in enumerate(classified):
        ok = (c["definitely_lost"] == 1 and c["indirectly_lost"] == lost - 1
              and c["possibly_lost"] == 0)
        lines.append("run %d found: definitely lost %d, indirectly lost %d, possibly lost %d, "
                     "still reachable %d blocks (%s: 1, %d, 0, %d + the C library's)"
                     % (i + 1, c["definitely_lost"], c["indirectly_lost"], c["possibly_lost"],
                        c["still_reachable"], "as expected" if ok else "EXPECTED",
                        lost - 1, blocks - lost))
    return lines


REPORT_CALLS = 10_000_000
REPORT_LEVELS = 17       # 131,072 distinct stacks


def report_formats(out_base: str) -> List[tuple]:
    """(label, report arguments, file written or None for stdout) per timed report."""
    return [
        ("text", [], None),
        ("json --top 0", ["--format", "json", "--top", "0"], None),
        ("pprof -o FILE", ["--format", "pprof", "-o", out_base + ".pb.gz"],
         out_base + ".pb.gz"),
        ("html -o FILE", ["--format", "html", "-o", out_base + ".html"], out_base + ".html"),
        ("folded", ["--format", "folded"], None),
    ]


def run_report_bench(opts, base_env) -> SideResult:
    """Record many_stacks once (10M allocation calls, 131,072 stacks), then time
    `heapscope report` on it in each format: wall time and peak RSS of the report."""
    title = "Reports on a big recording"
    error = compile_source("gcc", "many_stacks.c", "many_stacks", ["-Wall", "-Wextra"])
    if error:
        return SideResult(title, [], ["cannot build many_stacks: " + error])
    calls = scaled(REPORT_CALLS, opts.scale)
    rec = os.path.join(OUT_DIR, "many_stacks.hsr")
    rec_cell = Cell(Tool("record", "record", lambda a, b: Invocation(a, {})))
    inv = Invocation([opts.heapscope, "run", "-o", rec, "--no-summary", "--leak-check=none",
                      "--", os.path.join(OUT_DIR, "many_stacks"), str(calls),
                      str(REPORT_LEVELS)], {}, rec)
    if measure_into(rec_cell, inv, base_env, os.path.join(OUT_DIR, "many_stacks.record"), opts,
                    "many_stacks / recording").error:
        return SideResult(title, [], ["recording many_stacks failed"])
    stats = report_json(opts.heapscope, rec, "--top", "1")
    formats = report_formats(os.path.join(OUT_DIR, "many_stacks.report"))
    cells = [Cell(Tool(label, label, lambda a, b: Invocation(a, {}))) for label, _, _ in formats]
    sizes: Dict[str, int] = {}
    for i in range(opts.report_runs):
        for (label, args, written), cell in zip(formats, cells):
            base = os.path.join(OUT_DIR, "many_stacks.report.%d" % formats.index(
                (label, args, written)))
            run = measure_into(cell, Invocation([opts.heapscope, "report", rec] + args, {}),
                               base_env, base, opts, "many_stacks / report %s run %d"
                               % (label, i + 1))
            if not run.error:
                sizes[label] = os.path.getsize(written or base + ".stdout")
            if os.path.getsize(base + ".stdout") > 100e6:
                os.unlink(base + ".stdout")     # a gigabyte of JSON: keep the disk free
    rows = [side_row("heapscope run (recording)", rec_cell,
                     stats and stats["recording"].get("agent_bytes"),
                     fmt_bytes(os.path.getsize(rec)))]
    rows += [side_row("report " + label, cell, None, fmt_bytes(sizes.get(label)))
             for (label, _, _), cell in zip(formats, cells)]
    lines = []
    if stats:
        lines.append("recording: %s allocation calls, %s stacks, %s; the default view (leaks: "
                     "the blocks live at the end, no scan) holds %s stacks" % (
                         "{:,}".format(stats["summary"]["alloc_calls"]),
                         "{:,}".format(stats["summary"]["stacks"]), fmt_bytes(os.path.getsize(rec)),
                         "{:,}".format(stats.get("view_stacks", 0))))
    return SideResult(title, rows, lines,
                      ["run", "runs", "wall s: median (min-max)", "peak RSS MB", "agent MB",
                       "output size"])


# ---------------------------------------------------------------- environment

def first_line(argv: List[str]) -> str:
    """The first line a command prints, or '-' if it cannot run."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
        text = (proc.stdout or proc.stderr).strip()
        return text.splitlines()[0] if text else "-"
    except (OSError, subprocess.TimeoutExpired):
        return "-"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "-"


def source_revision() -> str:
    """The repository's commit, with '+changes' when the work tree differs from it."""
    head = first_line(["git", "-C", REPO_DIR, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", REPO_DIR, "diff", "--quiet", "HEAD", "--", "src"],
                           capture_output=True, check=False).returncode != 0
    return head + (" + uncommitted changes in src/" if dirty else "")


def environment_lines(opts) -> List[str]:
    """Date, machine and tool versions, for the record."""
    load = os.getloadavg()
    return [
        "date: %s" % first_line(["date"]),
        "machine: %d CPUs (nproc), %s, kernel %s, load average before the run %.2f"
        % (os.cpu_count() or 0, cpu_model(), platform.release(), load[0]),
        "heapscope: %s (%s), source tree at %s" % (
            first_line([opts.heapscope, "--version"]), opts.heapscope, source_revision()),
        "heaptrack: %s; valgrind: %s" % (first_line(["heaptrack", "--version"]),
                                         first_line(["valgrind", "--version"])),
        "gcc: %s; python: %s; sqlite3: %s" % (
            first_line(["gcc", "--version"]), first_line([SYSTEM_PYTHON, "--version"]),
            first_line([SYSTEM_SQLITE, "--version"]).split(" ")[0]),
        "options: --runs %d --scale %g --valgrind-runs %d --valgrind-scale %g --sample %s "
        "--report-runs %d" % (opts.runs, opts.scale, opts.valgrind_runs, opts.valgrind_scale,
                              ",".join(opts.samples), opts.report_runs),
    ]


def write_markdown(path: str, env_lines: List[str], rows, summary, workloads, acc_rows,
                   sides: List[SideResult]):
    """Write the environment, the workloads, the tables and the summaries as Markdown."""
    parts = ["# heapscope benchmark results", "",
             "Written by `bench/run.py`; `bench/README.md` explains the columns.", ""]
    parts += ["- " + line for line in env_lines]
    parts += ["", "## Workloads", ""]
    parts += ["- `%s`: %s" % (wl.name, wl.description) for wl in workloads]
    parts += ["", "## Results", "", render_markdown(rows), "", "## Summary", ""]
    parts += ["- " + line for line in summary]
    if acc_rows:
        parts += ["", "## Sampling accuracy", "", ACCURACY_NOTE, "",
                  render_markdown(acc_rows, ACCURACY_COLUMNS)]
    for side in sides:
        parts += ["", "## " + side.title, ""]
        if side.rows:
            parts += [render_markdown(side.rows, side.columns), ""]
        parts += ["- " + line for line in side.lines]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


# ---------------------------------------------------------------- main

def parse_args(argv: List[str]):
    """The command line."""
    p = argparse.ArgumentParser(description="heapscope benchmark against heaptrack and valgrind")
    p.add_argument("--runs", type=int, default=5, help="runs per tool (default 5)")
    p.add_argument("--scale", type=float, default=1.0, help="input size factor (default 1)")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--skip-valgrind", action="store_true", help="do not run memcheck")
    p.add_argument("--valgrind-runs", type=int, default=2, help="memcheck runs (default 2)")
    p.add_argument("--valgrind-scale", type=float, default=0.25,
                   help="memcheck input relative to --scale (default 0.25)")
    p.add_argument("--heapscope", default=os.path.join(REPO_DIR, "build", "bin", "heapscope"),
                   help="heapscope CLI (default build/bin/heapscope)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    p.add_argument("--markdown", metavar="FILE", help="also write the results as Markdown")
    p.add_argument("--sample", default="512k",
                   help="mean sampling intervals of the sampled rows, comma-separated "
                   "(default 512k; the first is the one the summary judges)")
    p.add_argument("--report-runs", type=int, default=3,
                   help="runs of each report on the big recording (default 3)")
    p.add_argument("--skip-scan", action="store_true", help="do not time the leak scan")
    p.add_argument("--skip-report", action="store_true",
                   help="do not time reports on the big recording")
    opts = p.parse_args(argv)
    if (opts.runs < 1 or opts.valgrind_runs < 1 or opts.report_runs < 1 or opts.scale <= 0
            or opts.valgrind_scale <= 0):
        p.error("--runs, --valgrind-runs and the scales must be positive")
    opts.heapscope = os.path.abspath(opts.heapscope)
    opts.samples = [v.strip() for v in opts.sample.split(",") if v.strip()] or ["512k"]
    return opts


def select_workloads(only: str) -> List[Workload]:
    """The workloads named by --only (all when empty); exits 2 on an unknown name."""
    workloads = make_workloads()
    if not only:
        return workloads
    names = [n.strip() for n in only.split(",") if n.strip()]
    known = {wl.name: wl for wl in workloads}
    unknown = [n for n in names if n not in known]
    if unknown:
        print("bench: unknown workload %s (known: %s)"
              % (", ".join(unknown), ", ".join(known)), file=sys.stderr)
        sys.exit(2)
    return [known[n] for n in names]


def clean_environment() -> Dict[str, str]:
    """The caller's environment without LD_PRELOAD or the agent's settings.

    HEAPSCOPE_AGENT (which agent the CLI loads) is kept; any other
    HEAPSCOPE_ variable would change what is measured.
    """
    return {k: v for k, v in os.environ.items()
            if k != "LD_PRELOAD" and (k == "HEAPSCOPE_AGENT" or not k.startswith("HEAPSCOPE_"))}


def main(argv: List[str]) -> int:
    opts = parse_args(argv)
    workloads = select_workloads(opts.only)
    os.makedirs(OUT_DIR, exist_ok=True)
    tools = make_tools(opts.heapscope, opts.skip_valgrind, opts.samples)
    for tool in tools:
        if tool.missing and not tool.key.startswith("plain"):
            print("bench: %s: %s; its columns will read '-'" % (tool.label, tool.missing),
                  file=sys.stderr)
    env_lines = environment_lines(opts)
    base_env = clean_environment()
    results = [run_workload(wl, tools, opts, base_env) for wl in workloads]
    sides = []
    if not opts.skip_scan:
        sides.append(run_scan_bench(opts, base_env))
    if not opts.skip_report:
        sides.append(run_report_bench(opts, base_env))
    rows = table_rows(results)
    summary = summary_lines(results)
    acc_rows = accuracy_rows(results)
    print()
    print("\n".join(env_lines))
    print()
    print(render_text(rows))
    print()
    print("\n".join(summary))
    print()
    print(ACCURACY_NOTE)
    print(render_text(acc_rows, ACCURACY_COLUMNS, group=False))
    for side in sides:
        print()
        print(side.title)
        if side.rows:
            print(render_text(side.rows, side.columns, group=False))
        print("\n".join(side.lines))
    if opts.markdown:
        write_markdown(opts.markdown, env_lines, rows, summary, workloads, acc_rows, sides)
        print("bench: wrote %s" % opts.markdown, file=sys.stderr)
    bad = any(c.mismatches for r in results for c in r.cells.values())
    if bad:
        print("bench: *** some runs printed something else than the plain run ***",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
