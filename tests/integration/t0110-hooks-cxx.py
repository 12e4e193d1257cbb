# SPDX-License-Identifier: MIT
"""Every C++ operator new/delete variant, by allocator name, exact figures; exceptions
(including std::bad_alloc from the real operator new) pass through the hooks."""
from hstest import Env, eq, check, stacks_at, sum_field, finish

env = Env()
prog = [env.target("hooks_cxx")]
plain = env.plain(prog)
proc, rec = env.run(prog)
eq(proc.returncode, plain.returncode, "exit status")
eq(proc.stdout, plain.stdout, "program stdout unchanged")
check(b"bad_alloc caught" in proc.stdout, "bad_alloc reached the program")

leaks = env.report(rec, "--leaks")
expected = {
    "leak_new()": ("operator new", 8),
    "leak_new_array()": ("operator new[]", 300),
    "leak_new_nothrow()": ("operator new(nothrow)", 8),
    "leak_new_array_nothrow()": ("operator new[](nothrow)", 500),
    "leak_new_aligned()": ("operator new(align_val_t)", 128),
    "leak_new_array_aligned()": ("operator new[](align_val_t)", 384),
}
for fn, (allocator, size) in expected.items():
    st = stacks_at(leaks, fn)
    if check(len(st) == 1, "one leak stack in %s (got %d)" % (fn, len(st))):
        eq(st[0]["allocator"], allocator, fn + " allocator")
        eq((st[0]["live_bytes"], st[0]["live_blocks"]), (size, 1), fn + " leaked")
        eq(st[0]["frames"][1]["function"], "main", fn + " caller")

allocs = env.report(rec, "--allocs")
pairs = stacks_at(allocs, "new_delete_pairs()")
eq(sum_field(pairs, "alloc_calls"), 21, "new_delete_pairs allocations")
eq(sum_field(pairs, "free_calls"), 21, "new_delete_pairs frees")
eq(sum_field(pairs, "live_bytes"), 0, "new_delete_pairs live bytes")
eq(sorted(set(s["allocator"] for s in pairs)),
   sorted(["operator new", "operator new[]", "operator new(align_val_t)",
           "operator new[](align_val_t)", "operator new(nothrow)"]),
   "new_delete_pairs allocators")

vec = [s for s in allocs["stacks"] if "vector_growth()" in
       [f.get("function") for f in s["frames"]]]
eq(sum_field(vec, "alloc_calls"), 11, "vector<long> growth to 1000 elements: 11 allocations")
eq(sum_field(vec, "live_bytes"), 0, "vector memory freed")
finish(env)
