/* filestream.c - a run's file_stream client; see include/sweep/wandb/filestream.h */
#define _GNU_SOURCE
#include "sweep/wandb/filestream.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static int append_escaped(char **p, size_t *left, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';

		if (*left < 4)
			return -1;
		if (plain) {
			*(*p)++ = (char)c;
			(*left)--;
		} else {
			*(*p)++ = '%';
			*(*p)++ = hex[c >> 4];
			*(*p)++ = hex[c & 15];
			*left -= 3;
		}
	}
	**p = '\0';
	return 0;
}

int sw_filestream_init(struct sw_filestream *fs, struct sw_http *http,
		       const char *entity, const char *project, const char *run,
		       int64_t history_offset, struct sw_err *err)
{
	const char *parts[3] = { entity, project, run };
	static const char *const names[3] = { "entity", "project", "run" };
	size_t cap, left;
	char *p;
	int i;

	memset(fs, 0, sizeof(*fs));
	fs->http = http;
	fs->offset = history_offset;
	fs->heartbeat_s = 30;
	fs->max_request_bytes = 4u << 20;
	fs->max_line_bytes = 1u << 20;
	fs->last_post_s = mono_now();
	if (!http || !http->base_url)
		return sw_errorf(err, "file_stream needs a wandb server (WANDB_BASE_URL)");
	if (history_offset < 0)
		return sw_errorf(err, "file_stream history offset %lld is negative",
				 (long long)history_offset);
	cap = strlen(http->base_url) + 32;
	for (i = 0; i < 3; i++) {
		if (!parts[i] || !*parts[i])
			return sw_errorf(err, "file_stream needs a non-empty %s name", names[i]);
		cap += 3 * strlen(parts[i]) + 1;
	}
	fs->url = malloc(cap);
	if (!fs->url)
		return sw_errorf(err, "out of memory");
	p = fs->url + sprintf(fs->url, "%s/files", http->base_url);
	left = cap - (size_t)(p - fs->url);
	for (i = 0; i < 3; i++) {
		*p++ = '/';
		left--;
		append_escaped(&p, &left, parts[i]);
	}
	snprintf(p, left, "/file_stream");
	return 0;
}

void sw_filestream_release(struct sw_filestream *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n_lines; i++)
		free(fs->lines[i]);
	free(fs->lines);
	free(fs->summary);
	free(fs->url);
	memset(fs, 0, sizeof(*fs));
}

static int check_line(const struct sw_filestream *fs, const char *line, const char *what,
		      struct sw_err *err)
{
	size_t n = strlen(line);
	json_t *v;

	if (n > fs->max_line_bytes)
		return sw_errorf(err, "%s line of %zu bytes is longer than the %zu allowed",
				 what, n, fs->max_line_bytes);
	if (strchr(line, '\n'))
		return sw_errorf(err, "%s line contains a newline", what);
	v = json_loads(line, 0, NULL);
	if (!json_is_object(v)) {
		json_decref(v);
		return sw_errorf(err, "%s line is not a JSON object: %.60s", what, line);
	}
	json_decref(v);
	return 0;
}

int sw_filestream_log(struct sw_filestream *fs, const char *json_line, struct sw_err *err)
{
	char *copy;

	if (check_line(fs, json_line, "history", err) < 0)
		return -1;
	if (fs->n_lines == fs->alloc) {
		size_t alloc = fs->alloc ? fs->alloc * 2 : 16;
		char **p = realloc(fs->lines, alloc * sizeof(*p));

		if (!p)
			return sw_errorf(err, "out of memory");
		fs->lines = p;
		fs->alloc = alloc;
	}
	copy = strdup(json_line);
	if (!copy)
		return sw_errorf(err, "out of memory");
	fs->lines[fs->n_lines++] = copy;
	return 0;
}

int sw_filestream_set_summary(struct sw_filestream *fs, const char *json_line,
			      struct sw_err *err)
{
	char *copy;

	if (check_line(fs, json_line, "summary", err) < 0)
		return -1;
	copy = strdup(json_line);
	if (!copy)
		return sw_errorf(err, "out of memory");
	free(fs->summary);
	fs->summary = copy;
	fs->summary_pending = 1;
	return 0;
}

/* POSTs body; on 2xx looks for "stopped": true in the answer. */
static int post(struct sw_filestream *fs, json_t *body, struct sw_err *err)
{
	struct sw_http_response resp;
	char *text = json_dumps(body, JSON_COMPACT);
	json_t *answer;
	int rc;

	if (!text)
		return sw_errorf(err, "out of memory");
	sw_http_response_init(&resp, 1u << 20);
	rc = sw_http_post_json(fs->http, fs->url, text, fs->http->secret ? "api" : NULL,
			       fs->http->secret, 0, &resp, err);
	if (rc == 0) {
		fs->posts++;
		fs->last_post_s = mono_now();
		answer = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, NULL) : NULL;
		if (json_is_true(json_object_get(answer, "stopped")))
			fs->stopped = 1;
		json_decref(answer);
	} else if (rc != SW_ERR_INTR) {
		sw_err_prefix(err, "file_stream");
	}
	sw_http_response_release(&resp);
	free(text);
	return rc;
}

/* One POST: as many queued lines as fit in max_request_bytes (at least
 * one), plus the summary when pending. Drops what was accepted. */
static int send_chunk(struct sw_filestream *fs, struct sw_err *err)
{
	json_t *body = NULL, *files, *content, *hist, *sum;
	size_t i, n = 0, bytes = 256;
	int rc, ret = -1, with_summary = fs->summary && fs->summary_pending;

	if (with_summary)
		bytes += strlen(fs->summary) * 2 + 64;
	body = json_object();
	files = json_object();
	if (!body || !files) {
		json_decref(files);
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (json_object_set_new(body, "files", files)) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (fs->n_lines) {
		content = json_array();
		hist = json_pack("{s:I, s:o}", "offset", (json_int_t)fs->offset, "content", content);
		if (!hist || json_object_set_new(files, "wandb-history.jsonl", hist)) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		for (i = 0; i < fs->n_lines; i++) {
			/* JSON-in-JSON roughly doubles quotes; count generously */
			size_t cost = strlen(fs->lines[i]) * 2 + 4;

			if (n > 0 && bytes + cost > fs->max_request_bytes)
				break;
			if (json_array_append_new(content, json_string(fs->lines[i]))) {
				sw_errorf(err, "out of memory");
				goto done;
			}
			bytes += cost;
			n++;
		}
	}
	if (with_summary) {
		sum = json_pack("{s:i, s:[s]}", "offset", 0, "content", fs->summary);
		if (!sum || json_object_set_new(files, "wandb-summary.json", sum)) {
			sw_errorf(err, "out of memory");
			goto done;
		}
	}
	rc = post(fs, body, err);
	if (rc < 0) {
		ret = rc;
		goto done;
	}
	for (i = 0; i < n; i++)
		free(fs->lines[i]);
	if (n)  /* lines is NULL while no line was ever queued */
		memmove(fs->lines, fs->lines + n, (fs->n_lines - n) * sizeof(*fs->lines));
	fs->n_lines -= n;
	fs->offset += (int64_t)n;
	if (with_summary)
		fs->summary_pending = 0;
	ret = 0;
done:
	json_decref(body);
	return ret;
}

int sw_filestream_flush(struct sw_filestream *fs, struct sw_err *err)
{
	int rc;

	while (fs->n_lines || (fs->summary && fs->summary_pending)) {
		rc = send_chunk(fs, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sw_filestream_poll(struct sw_filestream *fs, double now_s, struct sw_err *err)
{
	json_t *empty;
	int rc;

	if (fs->n_lines || (fs->summary && fs->summary_pending))
		return sw_filestream_flush(fs, err);
	if (now_s < 0)
		now_s = mono_now();
	if (now_s - fs->last_post_s < fs->heartbeat_s)
		return 0;
	empty = json_object();
	if (!empty)
		return sw_errorf(err, "out of memory");
	rc = post(fs, empty, err);
	json_decref(empty);
	return rc;
}

int sw_filestream_finish(struct sw_filestream *fs, int exitcode, struct sw_err *err)
{
	json_t *body;
	int rc;

	if (fs->completed)
		return 0;
	rc = sw_filestream_flush(fs, err);
	if (rc < 0)
		return rc;
	body = json_pack("{s:b, s:i}", "complete", 1, "exitcode", exitcode);
	if (!body)
		return sw_errorf(err, "out of memory");
	rc = post(fs, body, err);
	json_decref(body);
	if (rc == 0)
		fs->completed = 1;
	return rc;
}

int sw_filestream_preempt(struct sw_filestream *fs, struct sw_err *err)
{
	json_t *body;
	int rc = sw_filestream_flush(fs, err);

	if (rc < 0)
		return rc;
	body = json_pack("{s:b}", "preempting", 1);
	if (!body)
		return sw_errorf(err, "out of memory");
	rc = post(fs, body, err);
	json_decref(body);
	return rc;
}

int sw_filestream_stopped(const struct sw_filestream *fs)
{
	return fs->stopped;
}
