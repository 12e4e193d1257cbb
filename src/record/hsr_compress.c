// SPDX-License-Identifier: MIT
/*
 * Recordings in a zstd frame (hsr_compress.h): compressing a finished recording in place,
 * for `heapscope run` and `ctl record`, and decompressing one for the reader. Both stream
 * through fixed buffers, so memory does not follow the recording's size. Compressing must
 * never lose a recording: whatever fails, the raw file stays as it was. CLI only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "hsr_compress.h"
#include "hsr_format.h"

/*
 * A stream that decompresses to more than this many times its size, plus 64 MiB, is
 * taken as damaged there: recordings compress 3 to 20 times, and a tiny file must not fill
 * the disk with gigabytes (zstd's RLE blocks reach ratios in the tens of thousands).
 */
#define MAX_RATIO 1000
#define MAX_SLACK (64ull << 20)

/*
 * The compression level for a recording of `size` bytes. Measured on one core (x86_64,
 * libzstd 1.5.4): a 395 KB python3 recording takes 0.10 s at level 19 (to 126 KB; 146 KB
 * at level 9), a 5.3 MB one with 131,072 stacks 1.06 s at 19 but 0.13 s at 12 and 0.06 s
 * at 9 (to 345, 264 and 264 KB: levels above 15 do no better on it). So 19 while it takes
 * at most about 0.25 s, then levels that keep to about 25 ms per MB, then 3 (2 ms per MB).
 */
static int level_for(uint64_t size)
{
	if (size <= (1u << 20))
		return 19;
	if (size <= (8u << 20))
		return 12;
	if (size <= (64u << 20))
		return 9;
	return 3;
}

static void say(char *err, size_t errlen, const char *path, const char *why)
{
	snprintf(err, errlen, "cannot compress '%s': %s", path, why);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One step of the stream: compress what is in zin (all of it; at the end, flush the
 * frame) and write the output. 0, -errno, or -EPROTO with *zerr set. */
static int compress_step(ZSTD_CCtx *cc, ZSTD_inBuffer *zin, ZSTD_EndDirective mode,
			 int out, uint8_t *obuf, size_t ocap, size_t *zerr)
{
	size_t left;

	do {
		ZSTD_outBuffer zout = { obuf, ocap, 0 };
		int err;

		left = ZSTD_compressStream2(cc, &zout, zin, mode);
		if (ZSTD_isError(left)) {
			*zerr = left;
			return -EPROTO;
		}
		err = write_all(out, obuf, zout.pos);
		if (err)
			return err;
	} while (mode == ZSTD_e_end ? left != 0 : zin->pos < zin->size);
	return 0;
}

/* Compress the `size` bytes of `in` into `out`. The frame records the size, so a file
 * that grows meanwhile fails (srcSize_wrong) instead of being cut. */
static int compress_fd(int in, int out, uint64_t size, size_t *zerr)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t icap = ZSTD_CStreamInSize(), ocap = ZSTD_CStreamOutSize();
	uint8_t *ibuf = malloc(icap), *obuf = malloc(ocap);
	ZSTD_inBuffer zin;
	ssize_t n;
	int err = -ENOMEM;

	if (!cc || !ibuf || !obuf)
		goto out_free;
	err = 0;
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level_for(size));
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setPledgedSrcSize(cc, size);
	do {
		n = read(in, ibuf, icap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out_free;
		}
		zin = (ZSTD_inBuffer){ ibuf, (size_t)n, 0 };
		err = compress_step(cc, &zin, n ? ZSTD_e_continue : ZSTD_e_end, out, obuf, ocap,
				    zerr);
	} while (!err && n);
out_free:
	free(obuf);
	free(ibuf);
	ZSTD_freeCCtx(cc);
	return err;
}

/* The new file as the old one: its mode, and its owner (when we may give it away). */
static int same_owner_and_mode(int fd, const struct stat *old)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_uid != old->st_uid || st.st_gid != old->st_gid) &&
	    fchown(fd, old->st_uid, old->st_gid) < 0)
		return -errno;
	return fchmod(fd, old->st_mode & 07777) < 0 ? -errno : 0;
}

/* Compress the open raw recording `in` into a temporary file beside path, then rename it
 * over path. 0 or -errno; on failure nothing is left behind. */
static int replace_compressed(const char *path, int in, const struct stat *st, char *err,
			      size_t errlen)
{
	size_t zerr = 0;
	char *tmp;
	int out, ret;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		say(err, errlen, path, strerror(ENOMEM));
		return -ENOMEM;
	}
	out = mkostemp(tmp, O_CLOEXEC);	/* O_CREAT | O_EXCL, mode 0600 */
	if (out < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = compress_fd(in, out, (uint64_t)st->st_size, &zerr);
	if (!ret)
		ret = same_owner_and_mode(out, st);
	if (close(out) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
out_free:
	free(tmp);
	if (ret)
		say(err, errlen, path, zerr ? ZSTD_getErrorName(zerr) : strerror(-ret));
	return ret;
}

int hsr_compress_file(const char *path, char *err, size_t errlen)
{
	uint8_t head[HSR_MAGIC_LEN];
	struct stat st;
	int in, ret = 0;

	in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0) {
		ret = -errno;
		say(err, errlen, path, strerror(errno));
		return ret;
	}
	if (fstat(in, &st) < 0) {
		ret = -errno;
		say(err, errlen, path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || pread(in, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    memcmp(head, HSR_MAGIC, HSR_MAGIC_LEN) != 0)
		goto out_close;		/* not a raw recording: left as it is */
	ret = replace_compressed(path, in, &st, err, errlen);
	if (!ret)
		ret = 1;
out_close:
	close(in);
	return ret;
}

/* A decompression in progress. */
struct unzstd {
	ZSTD_DCtx *dc;
	FILE *in, *tmp;
	uint8_t *ibuf, *obuf;
	size_t icap, ocap;
	size_t hint;		/* ZSTD_decompressStream's last answer: 0 at a frame's end */
	uint64_t in_total, out_total;
	char *problem;		/* why it stopped early; "" while all is well */
	size_t cap;
};

/* Decompress zin into the temporary file. 0; 1 when the stream is damaged (u->problem
 * says how); -errno when writing the temporary file failed. */
static int decompress_step(struct unzstd *u, ZSTD_inBuffer *zin)
{
	uint64_t limit = MAX_SLACK + u->in_total * MAX_RATIO;
	ZSTD_outBuffer zout;

	do {
		zout = (ZSTD_outBuffer){ u->obuf, u->ocap, 0 };
		u->hint = ZSTD_decompressStream(u->dc, &zout, zin);
		if (zout.pos && fwrite(u->obuf, 1, zout.pos, u->tmp) != zout.pos)
			return errno ? -errno : -EIO;
		u->out_total += zout.pos;
		if (ZSTD_isError(u->hint)) {
			snprintf(u->problem, u->cap, "corrupt compressed data (%s)",
				 ZSTD_getErrorName(u->hint));
			return 1;
		}
		if (u->out_total > limit) {
			snprintf(u->problem, u->cap, "compressed data expanding over %d times",
				 MAX_RATIO);
			return 1;
		}
	} while (zin->pos < zin->size || zout.pos == zout.size);
	return 0;
}

/* Feed the stream (head, then the rest of u->in) through the decompressor. 0 or -errno;
 * damage is not an error (u->problem says what it was). */
static int decompress_all(struct unzstd *u, const uint8_t *head, size_t n)
{
	size_t len = n;

	memcpy(u->ibuf, head, n);
	u->in_total = n;
	while (len) {
		ZSTD_inBuffer zin = { u->ibuf, len, 0 };
		int ret = decompress_step(u, &zin);

		if (ret)
			return ret < 0 ? ret : 0;
		len = fread(u->ibuf, 1, u->icap, u->in);
		u->in_total += len;
	}
	if (ferror(u->in))
		snprintf(u->problem, u->cap, "compressed data unreadable (%s)", strerror(EIO));
	else if (u->hint != 0)
		snprintf(u->problem, u->cap, "compressed data cut short");
	return 0;
}

int hsr_decompress_to_tmpfile(const uint8_t *head, size_t n, FILE *in, FILE **out,
			      char *problem, size_t cap)
{
	struct unzstd u = { .in = in, .hint = 1, .problem = problem, .cap = cap };
	int ret = -ENOMEM;

	*out = NULL;
	problem[0] = '\0';
	u.icap = ZSTD_DStreamInSize() > n ? ZSTD_DStreamInSize() : n;
	u.ocap = ZSTD_DStreamOutSize();
	u.dc = ZSTD_createDCtx();
	u.ibuf = malloc(u.icap);
	u.obuf = malloc(u.ocap);
	if (!u.dc || !u.ibuf || !u.obuf)
		goto out_free;
	u.tmp = tmpfile();
	if (!u.tmp) {
		ret = -errno;
		goto out_free;
	}
	ret = decompress_all(&u, head, n);
	if (!ret && (fflush(u.tmp) != 0 || fseek(u.tmp, 0, SEEK_SET) != 0))
		ret = errno ? -errno : -EIO;
	if (ret)
		fclose(u.tmp);
	else
		*out = u.tmp;
out_free:
	free(u.obuf);
	free(u.ibuf);
	ZSTD_freeDCtx(u.dc);
	return ret;
}
