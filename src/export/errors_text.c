// SPDX-License-Identifier: MIT
/*
 * Heap errors found under --check, as text: each error once, with what happened, the
 * block, and where it was found, allocated and freed, symbolized. Used by `report`
 * (shown before the view when there are errors, or alone with --errors) and by the run
 * summary. Writes only; the errors come from the recording's last ERRORS record.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "hsr_format.h"
#include "resolve.h"

/* The first `max` frames of a stack, up to the program's start. */
static int put_frames(FILE *out, struct hs_resolver *res, const char *what, uint32_t id,
		      unsigned max)
{
	const struct hs_frame *fr;
	size_t n, i;

	if (!id)
		return 0;
	if (hs_resolver_stack(res, id, &fr, &n))
		return -ENOMEM;
	fprintf(out, "    %s:\n", what);
	for (i = 0; i < n && i < max && !hs_frame_is_program_start(&fr[i]); i++) {
		const char *mod = fr[i].module ? strrchr(fr[i].module, '/') : NULL;

		if (fr[i].function && fr[i].file)
			fprintf(out, "      %s (%s:%u)%s\n", fr[i].function, fr[i].file, fr[i].line,
				fr[i].inlined ? " [inlined]" : "");
		else if (fr[i].function)
			fprintf(out, "      %s  %s\n", fr[i].function, mod ? mod + 1 : "");
		else
			fprintf(out, "      %s+0x%llx\n", mod ? mod + 1 : "??",
				(unsigned long long)fr[i].module_offset);
	}
	return 0;
}

static void put_what(FILE *out, const struct hsr_error *e)
{
	fprintf(out, "%s", hsr_error_name(e->kind));
	if (e->count > 1)
		fprintf(out, " (%llu times)", (unsigned long long)e->count);
	if (e->nbytes)
		fprintf(out, ": %llu byte(s) written from offset %lld of a %llu-byte block [%s]",
			(unsigned long long)e->nbytes, (long long)e->offset,
			(unsigned long long)e->size, hsr_kind_name(e->alloc_kind));
	else if (e->alloc_stack)
		fprintf(out, ": offset %lld of a %llu-byte block [%s], released with %s",
			(long long)e->offset, (unsigned long long)e->size,
			hsr_kind_name(e->alloc_kind), hsr_kind_name(e->free_kind));
	else
		fprintf(out, ": %s(0x%llx), which is no heap block", hsr_kind_name(e->free_kind),
			(unsigned long long)e->address);
	fputc('\n', out);
}

int hs_export_text_errors(FILE *out, const struct hs_report *r, unsigned top)
{
	const struct hsr_recording *rec = r->rec;
	unsigned long long total = 0;
	size_t i;
	int err = 0;

	for (i = 0; i < rec->nerrors; i++)
		total += rec->errors[i].count;
	fprintf(out, "heap errors: %llu (%zu distinct)\n", total, rec->nerrors);
	for (i = 0; i < rec->nerrors && (!top || i < top) && !err; i++) {
		const struct hsr_error *e = &rec->errors[i];

		fprintf(out, "#%zu  ", i + 1);
		put_what(out, e);
		err = put_frames(out, r->res, "found at", e->stack, 8);
		if (!err)
			err = put_frames(out, r->res, "allocated at", e->alloc_stack, 8);
		if (!err)
			err = put_frames(out, r->res, "freed at", e->free_stack, 8);
	}
	if (top && rec->nerrors > top)
		fprintf(out, "... and %zu more (heapscope report --errors)\n", rec->nerrors - top);
	if (err)
		return err;
	return ferror(out) ? -EIO : 0;
}
