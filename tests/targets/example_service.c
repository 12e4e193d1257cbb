// SPDX-License-Identifier: MIT
/*
 * The bundled example: a small "service" that handles requests in a loop. Each request
 * parses a message into a session (freed), caches a name (a leak: the cache is never
 * trimmed) and builds a temporary buffer. Usage: example_service [REQUESTS].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session {
	char *user;
	char *payload;
	size_t len;
};

static char **name_cache;
static size_t cached;

static struct session *session_parse(const char *msg)
{
	struct session *s = calloc(1, sizeof(*s));

	s->len = strlen(msg);
	s->user = strndup(msg, 8);
	s->payload = malloc(s->len + 1);
	memcpy(s->payload, msg, s->len + 1);
	return s;
}

static void session_free(struct session *s)
{
	free(s->user);
	free(s->payload);
	free(s);
}

static void cache_name(const char *user)
{
	char *copy = malloc(64);

	snprintf(copy, 64, "user:%s", user);
	name_cache = realloc(name_cache, (cached + 1) * sizeof(*name_cache));
	name_cache[cached++] = copy;
	name_cache = NULL;	/* the bug: the cache array itself is lost each time */
	cached = 0;
}

static size_t render_reply(const struct session *s)
{
	char *buf = malloc(4096);
	size_t n = (size_t)snprintf(buf, 4096, "hello %s, %zu bytes\n", s->user, s->len);

	free(buf);
	return n;
}

int main(int argc, char **argv)
{
	int requests = argc > 1 ? atoi(argv[1]) : 100;
	size_t total = 0;

	for (int i = 0; i < requests; i++) {
		char msg[128];
		struct session *s;

		snprintf(msg, sizeof(msg), "client%02d payload %d", i % 10, i * 31);
		s = session_parse(msg);
		cache_name(s->user);
		total += render_reply(s);
		session_free(s);
	}
	printf("served %d requests, %zu bytes of replies\n", requests, total);
	return 0;
}
