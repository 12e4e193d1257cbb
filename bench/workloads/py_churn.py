# SPDX-License-Identifier: MIT
"""py_churn: the benchmark's Python workload (run by /usr/bin/python3).

Usage: python3 py_churn.py ROUNDS

Pure Python: builds dicts of lists and strings, formats and joins strings,
round-trips them through json.dumps/json.loads and sorts the result. Run
with PYTHONMALLOC=malloc so every object allocation reaches malloc, and with
PYTHONHASHSEED=0 so the output is the same on every run. Prints one
checksum line that depends only on ROUNDS.
"""
import json
import sys


def build_records(round_no, count):
    """A list of small dicts holding strings, lists and nested dicts."""
    records = []
    for i in range(count):
        key = "item-%d-%d" % (round_no, i)
        records.append({
            "id": i,
            "name": key,
            "tags": [key[:4], str(i % 7), "t" * (i % 13)],
            "attrs": {"weight": i * 0.5, "label": key.upper()},
        })
    return records


def churn(round_no):
    """One round: build, serialize, parse back, index and summarize."""
    records = build_records(round_no, 400)
    text = json.dumps(records)
    parsed = json.loads(text)
    index = {}
    for rec in parsed:
        index.setdefault(rec["id"] % 31, []).append(rec["name"])
    words = " ".join(rec["attrs"]["label"] for rec in parsed).split()
    words.sort(key=lambda w: (len(w), w))
    return len(text) + sum(len(v) for v in index.values()) + len(words[-1])


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: py_churn.py ROUNDS\n")
        sys.exit(2)
    rounds = int(sys.argv[1])
    checksum = 0
    for r in range(rounds):
        checksum = (checksum * 31 + churn(r)) & 0xFFFFFFFF
    print("py_churn rounds=%d checksum=%08x" % (rounds, checksum))


if __name__ == "__main__":
    main()
