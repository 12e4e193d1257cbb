/* SPDX-License-Identifier: MIT */
/*
 * Capturing the call stack of an allocation, inside the target, on every tracked call.
 * The hot path of the whole agent: a DWARF-CFI unwinder whose per-pc rules are cached in a
 * lock-free table, with a frame-pointer walk as fallback and as an option. Every read of
 * target memory is bounded by the current thread's stack limits, so a bad rule or a
 * corrupt frame ends the walk instead of faulting.
 *
 * Nothing here allocates with malloc or takes a lock a signal handler could wait on.
 */
#ifndef HS_UNWIND_H
#define HS_UNWIND_H

#include <stddef.h>
#include <stdint.h>

enum hs_unwind_method {
	HS_UNWIND_CFI = 0,	/* cached DWARF CFI, frame pointers where CFI is missing */
	HS_UNWIND_FP = 1,	/* frame pointers only (fast, wrong for code without them) */
};

/*
 * Set up the rule cache (256 KiB on x86_64, else 512 KiB, mapped once) and choose the method; calling it again
 * only switches the method. Needs hs_modules_init() first. 0 or -errno. Until it has
 * succeeded, hs_unwind walks frame pointers.
 */
int hs_unwind_init(enum hs_unwind_method method);

/*
 * What a thread's last walk saw, so that its next walk can take the frames they share
 * without looking their rules up again (docs/UNWIND.md, "Reusing the last walk"): the
 * state of each of the first HS_UNWIND_MEMO_FRAMES frames and where the stack words its
 * step read lie.
 * Zeroed is empty. It lies with the thread's registry slot (threads.h), in the agent's
 * arena, which a leak scan never reads: a frame pointer that is no frame pointer but the
 * address of a block keeps nothing reachable. x86_64 and aarch64; elsewhere it stays empty.
 */
#if defined(__x86_64__) || defined(__aarch64__)
#define HS_UNWIND_MEMO_FRAMES 64
#else
#define HS_UNWIND_MEMO_FRAMES 1
#endif

/* What walks did (hs_unwind_stats, hs_unwind_memo_counts). */
struct hs_unwind_counts {
	uint64_t walks;			/* calls of hs_unwind */
	uint64_t frames;		/* frames they gave */
	uint64_t hits;			/* frames whose rule was in the cache */
	uint64_t misses;		/* frames whose rule was not (read from the CFI) */
	uint64_t reused;		/* frames taken from a memo without a rule */
};

struct hs_unwind_memo_frame {
	uintptr_t pc, sp, fp;		/* the frame's state */
	uint16_t ra_off, fp_off;	/* the words its step read, below the next frame's
					   sp (fp_off 0: the frame pointer stays) */
	uint8_t ra;			/* pc is a return address (and on aarch64, bit 1:
					   sp is exact) */
	uint8_t after;			/* what the walk recorded for it is pc + after */
	uint8_t step;			/* how its step is checked: HS_MEMO_STEP_* */
	uint8_t ends;			/* its rule ended the walk (the outermost frame) */
};

/*
 * A memo frame's step: not checkable (ra_off and fp_off unused); checked by the return
 * address alone; or by the return address and the frame pointer, from which the step
 * computed the CFA. One byte, so that a walk taking frames tests one thing per frame.
 */
#define HS_MEMO_STEP_NONE 0
#define HS_MEMO_STEP_RA 1
#define HS_MEMO_STEP_RA_FP 2

/*
 * The last walk's frames lie in f[base .. base + min(n, 64)): a window that moves, so that
 * the frames a walk shares with the last stay where they are (only the ones before them
 * are written, from tmp) and are not copied on every walk.
 */
#define HS_UNWIND_MEMO_SPAN (3 * HS_UNWIND_MEMO_FRAMES)

struct hs_unwind_memo {
	int busy;			/* taken (hs_unwind_memo_take) */
	uint32_t epoch;			/* of the rules, when written */
	unsigned n;			/* the last walk's frames (the memo holds the first 64) */
	unsigned base;			/* where the first of them lies in f */
	uintptr_t hi;			/* the stack bound of the walk that wrote it */
	int same;			/* after a walk: 1 it had the frames of the last walk
					   recorded, 0 other frames (recorded now), -1 it
					   was not recorded */
	unsigned shared;		/* after a recorded walk: its outermost frames that
					   are the last walk's outermost (0 to n) */
	unsigned note_kind;		/* the caller's: what it made of the last recorded */
	void *note;			/* walk's frames (the tracker: kind, stack record) */
	uint64_t outer[HS_UNWIND_MEMO_FRAMES][2];	/* the caller's: what it derived
					   from the last walk's frames up to the k-th from
					   the outermost (the tracker: the hash's state) */
	struct hs_unwind_memo_frame f[HS_UNWIND_MEMO_SPAN];
	struct hs_unwind_memo_frame tmp[HS_UNWIND_MEMO_FRAMES];	/* a walk's own frames,
					   until it knows where they go */
	_Atomic uint64_t counts[5];	/* the walks made with this memo (struct
					   hs_unwind_counts' order): its thread's adds,
					   anyone's reads */
};

/*
 * A walk and what its caller does with the frames go under the memo's busy flag: a walk in
 * a signal handler that interrupted them goes without the memo, so the memo and its note
 * stay those of one walk. 1 when taken; 0 when this thread has it already.
 */
static inline int hs_unwind_memo_take(struct hs_unwind_memo *m)
{
	if (m->busy)
		return 0;
	m->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return 1;
}

static inline void hs_unwind_memo_give(struct hs_unwind_memo *m)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	m->busy = 0;
}

/*
 * Walk the calling thread's stack. Frames are return addresses, innermost first. Recording
 * starts at the first frame whose return address equals `first_ra` (what the hook saw as
 * __builtin_return_address(0)), so the agent's own frames are left out; if that frame is
 * not met within a few steps, recording starts after the agent's own frames; first_ra 0
 * records from the caller of hs_unwind. Every entry is "the executing instruction + 1":
 * a return address as it is, and pc + 1 for the interrupted frame above a signal frame and
 * for the signal trampoline, so consumers look up addr - 1 uniformly (docs/UNWIND.md).
 * [stack_lo, stack_hi) bound every stack read (the thread's stack; reads below the
 * caller's own frame are refused too). Returns the number of frames stored (at most max).
 * Async-signal-safe and reentrant; takes no lock of its own (a cache miss on an unknown pc
 * may call dl_iterate_phdr, whose loader lock is recursive).
 *
 * memo: the calling thread's memo, taken (hs_unwind_memo_take), or NULL. Where this walk
 * meets a frame of the last one in the same state, each following frame of the last walk
 * is taken after reading back the stack words its step read and finding them unchanged:
 * the frames are the same as without it, sooner. memo->same then says whether all of them
 * are those of the last walk recorded (the caller may reuse what it made of those, which it
 * keeps in memo->note), and memo->shared how many of the outermost are (what the caller
 * derived from those, kept in memo->outer, holds). Ignored after hs_unwind_set_reuse(0)
 * (memo->same -1).
 */
size_t hs_unwind(uintptr_t *frames, size_t max, uintptr_t first_ra, uintptr_t stack_lo,
		 uintptr_t stack_hi, struct hs_unwind_memo *memo);

/*
 * hs_unwind from a frame (`here`, the caller's) that may lie on another stack than the
 * thread's [stack_lo, stack_hi) (a coroutine's, a sigaltstack): there, the walk is
 * bounded by what the kernel can read now (unwind.c, "another stack"), or keeps the
 * thread's bounds where that is off or refused. Walks on the thread's stack pay two
 * compares.
 */
size_t hs_unwind_elsewhere(uintptr_t *frames, size_t max, uintptr_t first_ra,
			   uintptr_t stack_lo, uintptr_t stack_hi, struct hs_unwind_memo *memo);

static inline size_t hs_unwind_from(uintptr_t here, uintptr_t *frames, size_t max,
				    uintptr_t first_ra, uintptr_t stack_lo, uintptr_t stack_hi,
				    struct hs_unwind_memo *memo)
{
	if (__builtin_expect(here < stack_lo || here >= stack_hi, 0))
		return hs_unwind_elsewhere(frames, max, first_ra, stack_lo, stack_hi, memo);
	return hs_unwind(frames, max, first_ra, stack_lo, stack_hi, memo);
}

/*
 * 1 (the default): a walk on another stack than its thread's (a coroutine's, a
 * sigaltstack) is bounded by what the kernel can read there, at a system call a walk;
 * 0: it keeps the thread's bounds (its first frame only). unwind.c, "another stack".
 */
void hs_unwind_set_other_stacks(int on);

/* 1: walks use their memo (the default); 0: they ignore it. */
void hs_unwind_set_reuse(int on);

/*
 * Forget cached rules (a module went away, its addresses may be reused) and every
 * thread's memo. Racing walks may still see old rules or store one back; every cache word
 * is read and written atomically.
 */
void hs_unwind_invalidate(void);

/*
 * What walks did, added to *c: hs_unwind_stats those made without a memo (a signal
 * handler's while its thread's memo was taken; counted in thread-ish shards without atomic
 * adds, so a race may lose a few), hs_unwind_memo_counts those made with m (by m's thread
 * alone: exact; readable from any thread). A process's are the first and every thread's
 * memo (hs_threads_unwind_counts).
 */
void hs_unwind_stats(struct hs_unwind_counts *c);
void hs_unwind_memo_counts(const struct hs_unwind_memo *m, struct hs_unwind_counts *c);

#endif
