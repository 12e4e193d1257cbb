/* SPDX-License-Identifier: MIT */
/*
 * Recordings in a zstd frame (docs/FORMAT.md, "Compressed recordings"): the CLI compresses
 * a finished recording in place, and the reader unwraps one before reading it as usual.
 * CLI only, with libzstd: the agent writes raw recordings and never links this.
 */
#ifndef HS_HSR_COMPRESS_H
#define HS_HSR_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HSR_ZSTD_MAGIC "\x28\xb5\x2f\xfd"	/* a zstd frame's first 4 bytes */
#define HSR_ZSTD_MAGIC_LEN 4

/* Whether the n bytes at p start a zstd frame. */
static inline int hsr_is_compressed(const uint8_t *p, size_t n)
{
	return n >= HSR_ZSTD_MAGIC_LEN && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	       p[3] == 0xfd;
}

/*
 * Compress the finished raw recording at `path` in place: into a new file beside it
 * (created with O_EXCL, mode and owner as the original), then renamed over it. Nothing may
 * be writing the recording any more. Returns 1 when it was compressed; 0 when it was left
 * as it is because it is no raw recording (already compressed, empty, not a regular file);
 * -errno when it could not be compressed (full disk, unwritable directory, ...): the
 * recording is then untouched, no temporary file is left, and err holds one line like
 * "cannot compress 'x.hsr': No space left on device". Allocates; not async-signal-safe.
 */
int hsr_compress_file(const char *path, char *err, size_t errlen);

/*
 * Decompress a zstd stream into a new tmpfile(): its first n bytes are head (already read
 * by the caller), the rest is read from `in` to its end. On return 0, *out is that file
 * (the caller's to fclose), positioned at its start. When the stream is cut short or
 * corrupt, *out holds what was decompressed before the damage and `problem` says what it
 * was ("compressed data cut short"); it is "" for a whole stream. Returns -errno when no
 * temporary file or memory could be had or writing it failed; *out is then NULL.
 * Memory stays bounded (zstd's window and two buffers), whatever the stream's size.
 */
int hsr_decompress_to_tmpfile(const uint8_t *head, size_t n, FILE *in, FILE **out,
			      char *problem, size_t cap);

#endif
