// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the recording reader (src/record/hsr_reader*.c) on arbitrary bytes.
 * The input is written to a memfd and loaded through its /proc/self/fd path, the way
 * `heapscope report` loads a file; then every query a report makes over a loaded recording
 * is run once. The reader must never crash, hang or read out of bounds, whatever the file.
 * Built by fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined; not part of the CLI.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hsr_reader.h"

static int memfd = -1;
static char path[64];

/* Touch everything a report reads: stacks, snapshots (rebuilt), modules, messages. */
static void walk(const struct hsr_recording *rec)
{
	struct hsr_counters *state;
	volatile uint64_t sink = 0;
	size_t i, k;

	for (i = 0; i <= rec->nstacks; i++) {
		for (k = 0; k < rec->stacks[i].nframes; k++)
			sink += rec->stacks[i].frames[k];
		sink += rec->stacks[i].last.alloc_bytes + rec->stacks[i].peak_bytes;
	}
	for (i = 0; i < rec->nmodules; i++)
		sink += hsr_recording_module(rec, rec->modules[i].id) != NULL;
	for (i = 0; i < rec->nmessages; i++)
		sink += rec->messages[i].text[0];
	state = calloc(rec->nstacks + 1, sizeof(*state));
	if (state && rec->nsnapshots) {
		hsr_recording_state_at(rec, 0, state);
		hsr_recording_state_at(rec, rec->nsnapshots - 1, state);
		sink += state[rec->nstacks].alloc_calls;
	}
	free(state);
	if (hsr_recording_last_snapshot(rec))
		sink += hsr_reason_name(hsr_recording_last_snapshot(rec)->reason)[0];
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsr_recording *rec = NULL;
	char err[256];

	if (memfd < 0) {
		memfd = memfd_create("hsr-fuzz", 0);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	if (hsr_recording_load(path, &rec, err, sizeof(err)) == 0) {
		walk(rec);
		hsr_recording_free(rec);
	}
	return 0;
}
