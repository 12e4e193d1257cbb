// SPDX-License-Identifier: MIT
/*
 * The progress line of progress.h: drawn on standard error with write(2) (no stdio buffer
 * in between), redrawn in place after '\r', cut to the terminal's width so that it never
 * wraps, erased with spaces (no escape sequences, so a dumb terminal is fine). The watcher
 * thread for reading a file polls the reader's descriptor position every 100 ms.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define FIRST_DELAY_NS 250000000ULL	/* nothing drawn before this */
#define REDRAW_NS 100000000ULL		/* at most ten redraws a second */
#define LINE_MAX_CHARS 200

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void put(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

void hs_progress_init(struct hs_progress *p)
{
	struct winsize ws;

	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO);
	p->columns = 80;
	if (p->on && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		p->columns = ws.ws_col;
}

int hs_progress_enabled(const struct hs_progress *p)
{
	return p->on;
}

void hs_progress_phase(struct hs_progress *p, const char *what)
{
	uint64_t now = now_ns();

	p->what = what;
	p->start_ns = now;
	if (p->next_ns < now + FIRST_DELAY_NS && !p->shown)
		p->next_ns = now + FIRST_DELAY_NS;
}

/* Draw "heapscope: WHAT  NN%" over the line shown, padded to cover it. */
static void draw(struct hs_progress *p, uint64_t done, uint64_t total)
{
	char line[LINE_MAX_CHARS + 2];
	size_t max = p->columns - 1 < LINE_MAX_CHARS ? p->columns - 1 : LINE_MAX_CHARS;
	unsigned percent = (unsigned)(done >= total ? 100 : total ? done * 100 / total : 0);
	size_t n;
	int len;

	if (p->shown && percent == p->percent && p->what == p->shown_what)
		return;
	p->percent = percent;
	p->shown_what = p->what;
	if (total)
		len = snprintf(line + 1, sizeof(line) - 1, "heapscope: %s %3u%%", p->what, percent);
	else
		len = snprintf(line + 1, sizeof(line) - 1, "heapscope: %s ...", p->what);
	line[0] = '\r';
	n = len < 0 ? 0 : (size_t)len < max ? (size_t)len : max;
	while (n < p->shown && n < max)
		line[1 + n++] = ' ';
	put(line, n + 1);
	p->shown = n;
}

void hs_progress_set(struct hs_progress *p, uint64_t done, uint64_t total)
{
	uint64_t now;

	if (!p->on || !p->what)
		return;
	now = now_ns();
	if (now < p->next_ns)
		return;
	p->next_ns = now + REDRAW_NS;
	draw(p, done, total);
}

void hs_progress_clear(struct hs_progress *p)
{
	char line[LINE_MAX_CHARS + 2];

	if (!p->on || !p->shown)
		return;
	line[0] = '\r';
	memset(line + 1, ' ', p->shown);
	line[p->shown + 1] = '\r';
	put(line, p->shown + 2);
	p->shown = 0;
}

/* The position of this process's descriptor open on `real` (a resolved path); 0 if none. */
static uint64_t read_position(const char *real)
{
	char link[PATH_MAX], info[sizeof("/proc/self/fdinfo/") + NAME_MAX], text[256];
	uint64_t pos = 0;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	ssize_t n;
	int fd;

	while (d && (e = readdir(d)) && !pos) {
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 0 || (size_t)n != strlen(real) || memcmp(link, real, (size_t)n) != 0)
			continue;
		snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
		fd = open(info, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			text[n] = '\0';
			if (!strncmp(text, "pos:", 4))
				pos = strtoull(text + 4, NULL, 10);
		}
	}
	if (d)
		closedir(d);
	return pos;
}

/* Wait up to 100 ms for hs_progress_unwatch(); whether to go on. */
static int nap(struct hs_progress *p)
{
	struct timespec until;
	int go_on;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 100000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	if (!atomic_load(&p->stop))
		pthread_cond_timedwait(&p->wake, &p->lock, &until);
	go_on = !atomic_load(&p->stop);
	pthread_mutex_unlock(&p->lock);
	return go_on;
}

static void *watch(void *arg)
{
	struct hs_progress *p = arg;
	char *real = realpath(p->path, NULL);

	while (real && nap(p))
		hs_progress_set(p, read_position(real), p->size);
	free(real);
	return NULL;
}

void hs_progress_watch_read(struct hs_progress *p, const char *path)
{
	const char *base = strrchr(path, '/');
	struct stat st;

	if (!p->on || stat(path, &st) != 0)
		return;
	snprintf(p->label, sizeof(p->label), "reading %s", base ? base + 1 : path);
	p->path = path;
	p->size = (uint64_t)st.st_size;
	atomic_store(&p->stop, 0);
	hs_progress_phase(p, p->label);
	if (pthread_mutex_init(&p->lock, NULL))
		return;
	if (pthread_cond_init(&p->wake, NULL)) {
		pthread_mutex_destroy(&p->lock);
		return;
	}
	p->watching = pthread_create(&p->thread, NULL, watch, p) == 0;
	if (!p->watching) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
	}
}

void hs_progress_unwatch(struct hs_progress *p)
{
	if (p->watching) {
		pthread_mutex_lock(&p->lock);
		atomic_store(&p->stop, 1);
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		p->watching = 0;
	}
	hs_progress_clear(p);
	p->what = NULL;
}
