/* store.c - the results store of a local sweep; see include/sweep/store/store.h */
#define _GNU_SOURCE
#include "sweep/store/store.h"
#include "base/durable.h"
#include "base/file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/cli.h"
#include "base/rng.h"
#include "sweep/offline/wandb_runfile.h"

struct sw_store_run {
	struct sw_store_run *next;
	char *id;
	json_t *params;
	uint64_t seed;
	int64_t index;
	double t0;              /* monotonic seconds at run_begin */
	int64_t epochs;
	json_t *last;           /* last epoch's metrics (object) */
	double last_runtime;
	int has_best;
	double best;
	int64_t best_step;
	json_t *summary;        /* the run file's summary (sw_store_run_record) */
	json_t *rows;           /* history rows written so far (array) */
	json_t *notes;          /* extra record fields (sw_store_run_note) */
};

#define CHECKPOINT_FILE "checkpoint.bin"

/* ==== Small helpers ==== */

const char *sw_run_state_name(enum sw_run_state s)
{
	switch (s) {
	case SW_RUN_FINISHED: return "finished";
	case SW_RUN_FAILED: return "failed";
	case SW_RUN_STOPPED: return "stopped";
	case SW_RUN_KILLED: return "killed";
	}
	return "unknown";
}

int sw_run_state_parse(const char *name, enum sw_run_state *out)
{
	static const enum sw_run_state all[] = {
		SW_RUN_FINISHED, SW_RUN_FAILED, SW_RUN_STOPPED, SW_RUN_KILLED
	};
	size_t i;

	for (i = 0; name && i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(name, sw_run_state_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

const char *sw_method_name(enum sw_method m)
{
	switch (m) {
	case SW_METHOD_GRID: return "grid";
	case SW_METHOD_RANDOM: return "random";
	case SW_METHOD_BAYES: return "bayes";
	}
	return "unknown";
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void iso_time(char out[32], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int valid_id(const char *id)
{
	size_t n = 0;

	if (!id)
		return 0;
	for (; id[n]; n++)
		if (!isalnum((unsigned char)id[n]) && id[n] != '_' && id[n] != '-')
			return 0;
	return n >= 1 && n <= 64;
}

static char *path_join(const char *a, const char *b)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		return NULL;
	return p;
}

static char *run_path(const char *dir, const char *id, const char *file)
{
	char *p = NULL;

	if (file) {
		if (asprintf(&p, "%s/runs/%s/%s", dir, id, file) < 0)
			return NULL;
	} else if (asprintf(&p, "%s/runs/%s", dir, id) < 0) {
		return NULL;
	}
	return p;
}

static int better(double a, double b, int maximize)
{
	return maximize ? a > b : a < b;
}

/* ==== Files: whole reads, atomic replaces, durable appends ==== */

/* v encoded with flags plus a newline, in a new string the caller frees
 * (*len bytes, NUL-terminated); NULL with err set on failure. */
static char *json_line(const json_t *v, size_t flags, const char *path,
		       size_t *len, struct sw_err *err)
{
	char *text = json_dumps(v, flags), *grown;
	size_t n;

	if (!text) {
		sw_errorf(err, "cannot encode a line for '%s'", path);
		return NULL;
	}
	n = strlen(text);
	grown = realloc(text, n + 2);
	if (!grown) {
		free(text);
		sw_errorf(err, "out of memory");
		return NULL;
	}
	grown[n] = '\n';
	grown[n + 1] = '\0';
	*len = n + 1;
	return grown;
}

/* Replaces path by v (indented JSON), now or through the writer w. */
static int replace_json(struct sw_writer *w, const char *path, const json_t *v,
			struct sw_err *err)
{
	size_t n;
	char *text = json_line(v, JSON_INDENT(2), path, &n, err);
	int ret;

	if (!text)
		return -1;
	ret = sw_durable_replace(w, path, text, n, err);
	free(text);
	return ret;
}

/* Appends v as one compact line to fd (or to path when fd is -1), with a
 * single write(2) and then fsync(2), now or through the writer w. */
static int append_json(struct sw_writer *w, int fd, const char *path,
		       const json_t *v, struct sw_err *err)
{
	size_t n;
	char *text = json_line(v, JSON_COMPACT | JSON_ENCODE_ANY, path, &n, err);
	int ret;

	if (!text)
		return -1;
	ret = sw_durable_append(w, fd, path, text, n, err);
	free(text);
	return ret;
}

/* Makes the file end at a line boundary: a torn last line is cut off, a
 * complete JSON value missing only its newline gets it. Creates the file
 * when missing. */
static int repair_tail(const char *path, struct sw_err *err)
{
	char *data = NULL;
	size_t len = 0, start;
	int missing = 0, fd = -1, ret = -1;

	if (sw_read_file(path, 0, &data, &len, &missing, err))
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		sw_errorf(err, "cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	if (len && data[len - 1] != '\n') {
		json_t *v;

		start = len;
		while (start > 0 && data[start - 1] != '\n')
			start--;
		v = json_loadb(data + start, len - start, 0, NULL);
		if (v) {
			json_decref(v);
			if (lseek(fd, 0, SEEK_END) < 0 || write(fd, "\n", 1) != 1) {
				sw_errorf(err, "cannot repair '%s': %s", path,
					  strerror(errno));
				goto done;
			}
		} else if (ftruncate(fd, (off_t)start)) {
			sw_errorf(err, "cannot cut the torn last line of '%s': %s",
				  path, strerror(errno));
			goto done;
		}
		fsync(fd);
	}
	/* a file created here gets its durable entry from open_appends() */
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	free(data);
	return ret;
}

/* ==== Reading JSON Lines ==== */

/* sw_jsonl_load, optionally also returning each value's line number (a new
 * array the caller frees). */
static int jsonl_load(const char *path, int missing_ok, json_t **out, int *torn,
		      int **linenos, struct sw_err *err)
{
	char *data = NULL;
	int *lines = NULL;
	size_t nlines = 0, alloc_lines = 0;
	size_t len = 0, pos = 0;
	int missing = 0, lineno = 0, ret = -1;
	json_t *arr = NULL;

	*out = NULL;
	if (torn)
		*torn = 0;
	if (sw_read_file(path, 0, &data, &len, missing_ok ? &missing : NULL, err))
		return -1;
	arr = json_array();
	if (!arr) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	while (pos < len) {
		const char *line = data + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, i;
		json_error_t jerr;
		json_t *v;

		lineno++;
		pos += n + (nl ? 1 : 0);
		for (i = 0; i < n && isspace((unsigned char)line[i]); i++)
			;
		if (i == n)
			continue;
		v = json_loadb(line, n, 0, &jerr);
		if (!v) {
			if (!nl) {
				if (torn)
					*torn = 1;
				break;
			}
			sw_errorf(err, "'%s' line %d: corrupt JSON (%s)", path, lineno,
				  jerr.text);
			goto done;
		}
		if (json_array_append_new(arr, v)) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		if (linenos) {
			if (nlines == alloc_lines) {
				int *nl2;

				alloc_lines = alloc_lines ? 2 * alloc_lines : 64;
				nl2 = realloc(lines, alloc_lines * sizeof(*lines));
				if (!nl2) {
					sw_errorf(err, "out of memory");
					goto done;
				}
				lines = nl2;
			}
			lines[nlines++] = lineno;
		}
	}
	*out = arr;
	arr = NULL;
	if (linenos) {
		*linenos = lines;
		lines = NULL;
	}
	ret = 0;
done:
	json_decref(arr);
	free(lines);
	free(data);
	return ret;
}

int sw_jsonl_load(const char *path, int missing_ok, json_t **out, int *torn,
		  struct sw_err *err)
{
	return jsonl_load(path, missing_ok, out, torn, NULL, err);
}

int sw_store_load_meta(const char *dir, json_t **out, struct sw_err *err)
{
	char *path = path_join(dir, "meta.json");
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (!path)
		return sw_errorf(err, "out of memory");
	v = json_load_file(path, 0, &jerr);
	if (!v) {
		if (access(path, F_OK))
			sw_errorf(err, "'%s' is not a sweep results directory (no meta.json)",
				  dir);
		else
			sw_errorf(err, "'%s' line %d: corrupt JSON (%s)", path, jerr.line,
				  jerr.text);
		free(path);
		return -1;
	}
	if (!json_is_object(v)) {
		sw_errorf(err, "'%s': expected a JSON object", path);
		json_decref(v);
		free(path);
		return -1;
	}
	free(path);
	*out = v;
	return 0;
}

int sw_store_load_runs(const char *dir, json_t **out, struct sw_err *err)
{
	char *path = path_join(dir, "runs.jsonl");
	json_t *lines = NULL, *runs = NULL, *seen = NULL;
	int ret = -1, *linenos = NULL;
	size_t i;

	*out = NULL;
	if (!path)
		return sw_errorf(err, "out of memory");
	if (jsonl_load(path, 1, &lines, NULL, &linenos, err))
		goto done;
	runs = json_array();
	seen = json_object();
	if (!runs || !seen) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < json_array_size(lines); i++) {
		json_t *r = json_array_get(lines, i);
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *state = json_string_value(json_object_get(r, "state"));
		enum sw_run_state st;

		if (!json_is_object(r) || !valid_id(id)) {
			sw_errorf(err, "'%s' line %d: run record without a valid \"id\"",
				  path, linenos[i]);
			goto done;
		}
		if (sw_run_state_parse(state, &st)) {
			sw_errorf(err, "'%s' line %d: run '%s' has an invalid \"state\"",
				  path, linenos[i], id);
			goto done;
		}
		if (json_object_get(seen, id))
			continue;
		json_object_set_new(seen, id, json_true());
		json_array_append(runs, r);
	}
	*out = runs;
	runs = NULL;
	ret = 0;
done:
	json_decref(lines);
	json_decref(runs);
	json_decref(seen);
	free(linenos);
	free(path);
	return ret;
}

/* sw_jsonl_load of path (a missing file is no error); path is freed here
 * (NULL: out of memory). */
static int load_owned_jsonl(char *path, json_t **out, struct sw_err *err)
{
	int ret;

	if (!path)
		return sw_errorf(err, "out of memory");
	ret = sw_jsonl_load(path, 1, out, NULL, err);
	free(path);
	return ret;
}

int sw_store_load_history(const char *dir, const char *id, json_t **out,
			  struct sw_err *err)
{
	*out = NULL;
	if (!valid_id(id))
		return sw_errorf(err, "invalid run id '%s'", id ? id : "");
	return load_owned_jsonl(run_path(dir, id, "history.jsonl"), out, err);
}

int sw_store_load_alerts(const char *dir, json_t **out, struct sw_err *err)
{
	*out = NULL;
	return load_owned_jsonl(path_join(dir, "alerts.jsonl"), out, err);
}

/* ==== Sorting and best values ==== */

int sw_run_best_value(const json_t *run, const char *metric, double *value)
{
	const json_t *summary = json_object_get(run, "summary");
	const json_t *best = json_object_get(summary, "best");
	const json_t *v = json_object_get(best, "value");

	if (json_is_number(v) && (!metric || !json_is_string(json_object_get(best, "name")) ||
				  !strcmp(json_string_value(json_object_get(best, "name")),
					  metric))) {
		*value = json_number_value(v);
		return isfinite(*value) ? 0 : -1;
	}
	if (!metric)
		return -1;
	v = json_object_get(summary, metric);
	if (json_is_number(v) && isfinite(json_number_value(v))) {
		*value = json_number_value(v);
		return 0;
	}
	return -1;
}

struct sort_item {
	json_t *run;
	int has;
	double v;
	int maximize;
};

static int cmp_items(const void *pa, const void *pb)
{
	const struct sort_item *a = pa, *b = pb;
	const char *ia, *ib;

	if (a->has != b->has)
		return a->has ? -1 : 1;
	if (a->has && a->v != b->v)
		return better(a->v, b->v, a->maximize) ? -1 : 1;
	ia = json_string_value(json_object_get(a->run, "id"));
	ib = json_string_value(json_object_get(b->run, "id"));
	return strcmp(ia ? ia : "", ib ? ib : "");
}

void sw_runs_sort(json_t *runs, const char *metric, int maximize)
{
	size_t n = json_array_size(runs), i;
	struct sort_item *items;

	if (n < 2)
		return;
	items = calloc(n, sizeof(*items));
	if (!items)
		return;
	for (i = 0; i < n; i++) {
		items[i].run = json_incref(json_array_get(runs, i));
		items[i].has = !sw_run_best_value(items[i].run, metric, &items[i].v);
		items[i].maximize = maximize;
	}
	qsort(items, n, sizeof(*items), cmp_items);
	json_array_clear(runs);
	for (i = 0; i < n; i++)
		json_array_append_new(runs, items[i].run);
	free(items);
}

void sw_store_run_id(char out[9], uint64_t sweep_seed, uint64_t index)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint64_t x = sw_seed_derive(sweep_seed, index);
	int i;

	for (i = 0; i < 8; i++) {
		out[i] = digits[x % 36];
		x /= 36;
	}
	out[8] = '\0';
}

char *sw_store_dir_name(char *out, size_t size, const char *spec_name,
			const char *spec_path, time_t t)
{
	char stem[128], stamp[32];
	const char *src;
	size_t n, i;
	struct tm tm;

	if (spec_name && *spec_name) {
		src = spec_name;
		n = strlen(src);
	} else {
		const char *slash = spec_path ? strrchr(spec_path, '/') : NULL;
		const char *dot;

		src = slash ? slash + 1 : (spec_path ? spec_path : "sweep");
		n = strlen(src);
		dot = strrchr(src, '.');
		if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") ||
			    !strcmp(dot, ".json")))
			n = (size_t)(dot - src);
	}
	if (n == 0) {
		src = "sweep";
		n = 5;
	}
	if (n > sizeof(stem) - 1)
		n = sizeof(stem) - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		stem[i] = (isalnum(c) || c == '.' || c == '_' || c == '-') ? (char)c : '_';
	}
	stem[n] = '\0';
	if (stem[0] == '.')
		stem[0] = '_';
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(out, size, "%s-%s", stem, stamp);
	return out;
}

/* ==== The store ==== */

static struct sw_store_run *find_active(struct sw_store *st, const char *id)
{
	struct sw_store_run *r;

	for (r = st->active; r; r = r->next)
		if (!strcmp(r->id, id))
			return r;
	return NULL;
}

/* Locks the store and finds the begun run id; NULL with err set when it
 * was not begun. The store stays locked either way. */
static struct sw_store_run *lock_begun(struct sw_store *st, const char *id,
				       struct sw_err *err)
{
	struct sw_store_run *r;

	pthread_mutex_lock(&st->lock);
	r = id ? find_active(st, id) : NULL;
	if (!r)
		sw_errorf(err, "run '%s' was not begun", id ? id : "");
	return r;
}

static void run_free(struct sw_store_run *r)
{
	if (!r)
		return;
	free(r->id);
	json_decref(r->params);
	json_decref(r->last);
	json_decref(r->summary);
	json_decref(r->rows);
	json_decref(r->notes);
	free(r);
}

void sw_store_release(struct sw_store *st)
{
	struct sw_store_run *r, *next;

	if (!st)
		return;
	sw_writer_stop(st->writer);   /* before the descriptors it writes to */
	for (r = st->active; r; r = next) {
		next = r->next;
		run_free(r);
	}
	if (st->runs_fd >= 0)
		close(st->runs_fd);
	if (st->alerts_fd >= 0)
		close(st->alerts_fd);
	if (st->dir_lock_fd >= 0)
		close(st->dir_lock_fd);   /* drops the flock */
	json_decref(st->recorded);
	json_decref(st->best);
	free(st->dir);
	free(st->metric);
	if (st->lock_ok)
		pthread_mutex_destroy(&st->lock);
	memset(st, 0, sizeof(*st));
	st->runs_fd = st->alerts_fd = st->dir_lock_fd = -1;
}

static int store_setup(struct sw_store *st, const char *dir, struct sw_err *err)
{
	char *path = NULL;

	memset(st, 0, sizeof(*st));
	st->runs_fd = st->alerts_fd = st->dir_lock_fd = -1;
	if (pthread_mutex_init(&st->lock, NULL))
		return sw_errorf(err, "cannot create a mutex");
	st->lock_ok = 1;
	st->dir = strdup(dir);
	st->recorded = json_object();
	if (!st->dir || !st->recorded)
		return sw_errorf(err, "out of memory");
	path = path_join(dir, "runs");
	if (!path)
		return sw_errorf(err, "out of memory");
	if (mkdir(path, 0755) && errno != EEXIST) {
		sw_errorf(err, "cannot create directory '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	path = path_join(dir, ".lock");
	if (!path)
		return sw_errorf(err, "out of memory");
	st->dir_lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->dir_lock_fd < 0) {
		sw_errorf(err, "cannot open '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (flock(st->dir_lock_fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return sw_errorf(err, "sweep directory '%s' is in use by another "
					 "sweep process", dir);
		return sw_errorf(err, "cannot lock sweep directory '%s': %s", dir,
				 strerror(errno));
	}
	return 0;
}

static int open_appends(struct sw_store *st, struct sw_err *err)
{
	static const char *names[2] = { "runs.jsonl", "alerts.jsonl" };
	int *fds[2] = { &st->runs_fd, &st->alerts_fd };
	int i;

	for (i = 0; i < 2; i++) {
		char *path = path_join(st->dir, names[i]);

		if (!path)
			return sw_errorf(err, "out of memory");
		*fds[i] = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (*fds[i] < 0) {
			sw_errorf(err, "cannot open '%s': %s", path, strerror(errno));
			free(path);
			return -1;
		}
		free(path);
	}
	sw_fsync_dir(st->dir);
	return 0;
}

int sw_store_create(struct sw_store *st, const char *root,
		    const struct sw_spec *spec, const json_t *extra, time_t start,
		    struct sw_err *err)
{
	char name[256], stamp[32], *dir = NULL, *path = NULL;
	const char *key;
	json_t *meta = NULL, *v;
	int i, ret = -1;

	memset(st, 0, sizeof(*st));
	st->runs_fd = st->alerts_fd = st->dir_lock_fd = -1;
	if (!root || !*root)
		root = "results";
	if (sw_mkdir_p(root, err))
		return sw_err_prefix(err, "results directory '%s' is not usable", root);
	sw_store_dir_name(name, sizeof(name), spec->name, spec->path, start);
	for (i = 1; i < 1000; i++) {
		free(dir);
		dir = NULL;
		if ((i == 1 ? asprintf(&dir, "%s/%s", root, name)
			    : asprintf(&dir, "%s/%s-%d", root, name, i)) < 0) {
			dir = NULL;
			sw_errorf(err, "out of memory");
			goto done;
		}
		if (!mkdir(dir, 0755))
			break;
		if (errno != EEXIST) {
			sw_errorf(err, "cannot create sweep directory '%s': %s", dir,
				  strerror(errno));
			goto done;
		}
	}
	if (i == 1000) {
		sw_errorf(err, "cannot create sweep directory '%s': too many sweeps of that name",
			  dir);
		goto done;
	}
	sw_fsync_dir(root);
	if (store_setup(st, dir, err))
		goto done;
	if (spec->metric.present && spec->metric.name) {
		st->metric = strdup(spec->metric.name);
		if (!st->metric) {
			sw_errorf(err, "out of memory");
			goto done;
		}
		st->maximize = spec->metric.goal == SW_GOAL_MAXIMIZE;
	}

	path = path_join(dir, "sweep.yaml");
	if (!path || sw_durable_replace(NULL, path, spec->text ? spec->text : "",
						 spec->text ? strlen(spec->text) : 0, err))
		goto done;
	free(path);
	path = NULL;

	iso_time(stamp, start);
	meta = json_pack("{s:i, s:s, s:{s:s, s:s, s:s}, s:s, s:I, s:s, s:s, s:s}",
			 "format", 1, "sweep_version", SW_VERSION,
			 "versions", "sweep", SW_VERSION, "jansson", JANSSON_VERSION,
			 "compiler", __VERSION__,
			 "start_time", stamp, "start_timestamp", (json_int_t)start,
			 "name", spec->name && *spec->name ? spec->name : name,
			 "spec_file", spec->path ? spec->path : "",
			 "method", sw_method_name(spec->method));
	if (!meta) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	/* the directory name, without the timestamp, is the default name */
	if (!(spec->name && *spec->name)) {
		char *dash = strrchr(name, '-');

		if (dash && dash > name) {
			*dash = '\0';
			dash = strrchr(name, '-');
			if (dash)
				*dash = '\0';
		}
		json_object_set_new(meta, "name", json_string(name));
	}
	if (st->metric)
		json_object_set_new(meta, "metric",
				    json_pack("{s:s, s:s}", "name", st->metric, "goal",
					      st->maximize ? "maximize" : "minimize"));
	json_object_foreach((json_t *)extra, key, v) {
		if (!strcmp(key, "versions") && json_is_object(v))
			json_object_update(json_object_get(meta, "versions"), v);
		else
			json_object_set(meta, key, v);
	}
	path = path_join(dir, "meta.json");
	if (!path || replace_json(NULL, path, meta, err))
		goto done;
	if (open_appends(st, err))
		goto done;
	ret = 0;
done:
	if (ret)
		sw_store_release(st);
	json_decref(meta);
	free(path);
	free(dir);
	return ret;
}

/* Recomputes the best from recorded runs when best.json is missing. */
static void best_from_runs(struct sw_store *st, json_t *runs)
{
	size_t i;
	json_t *r;

	if (!st->metric)
		return;
	json_array_foreach(runs, i, r) {
		double v, cur = 0;

		if (sw_run_best_value(r, st->metric, &v))
			continue;
		if (st->best)
			cur = json_number_value(json_object_get(st->best, "value"));
		if (st->best && !better(v, cur, st->maximize))
			continue;
		json_decref(st->best);
		st->best = json_pack("{s:O, s:s, s:f, s:O?}", "run",
				     json_object_get(r, "id"), "metric", st->metric,
				     "value", v, "params", json_object_get(r, "params"));
	}
}

/* Deletes temporary files a crash left in the sweep directory: an atomic
 * replace's "best.json.tmp" / "meta.json.tmp" and models saved for a
 * commit that never came ("best.safetensors.<id>-<epoch>.tmp"). */
static void remove_leftover_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char *path;

		if (n < 4 || strcmp(de->d_name + n - 4, ".tmp") ||
		    (strncmp(de->d_name, "best.", 5) && strncmp(de->d_name, "meta.", 5)))
			continue;
		path = path_join(dir, de->d_name);
		if (path)
			unlink(path);
		free(path);
	}
	if (d)
		closedir(d);
}

int sw_store_open(struct sw_store *st, const char *dir, struct sw_err *err)
{
	json_t *meta = NULL, *runs = NULL, *inflight = NULL, *r;
	char *path = NULL;
	const char *goal;
	size_t i;
	int ret = -1;

	if (sw_store_load_meta(dir, &meta, err)) {
		memset(st, 0, sizeof(*st));
		st->runs_fd = st->alerts_fd = st->dir_lock_fd = -1;
		return -1;
	}
	if (store_setup(st, dir, err))
		goto done;
	st->keep_checkpoints = json_is_true(json_object_get(meta, "keep_checkpoints"));
	if (json_is_string(json_object_get(json_object_get(meta, "metric"), "name"))) {
		st->metric = strdup(json_string_value(
			json_object_get(json_object_get(meta, "metric"), "name")));
		goal = json_string_value(json_object_get(json_object_get(meta, "metric"),
							 "goal"));
		st->maximize = goal && !strcmp(goal, "maximize");
	}
	path = path_join(dir, "runs.jsonl");
	if (!path || repair_tail(path, err))
		goto done;
	free(path);
	path = path_join(dir, "alerts.jsonl");
	if (!path || repair_tail(path, err))
		goto done;
	free(path);
	path = NULL;
	if (sw_store_load_runs(dir, &runs, err))
		goto done;
	json_array_foreach(runs, i, r)
		json_object_set_new(st->recorded,
				    json_string_value(json_object_get(r, "id")), json_true());

	path = path_join(dir, "best.json");
	if (!path)
		goto done;
	if (!access(path, F_OK)) {
		json_error_t jerr;

		st->best = json_load_file(path, 0, &jerr);
		if (!st->best || !json_is_number(json_object_get(st->best, "value"))) {
			sw_errorf(err, "'%s' line %d: corrupt best record (%s)", path,
				  jerr.line, st->best ? "no numeric \"value\"" : jerr.text);
			goto done;
		}
	} else {
		best_from_runs(st, runs);
	}
	/* markers of runs whose line made it into runs.jsonl before the crash */
	{
		char *rdir = path_join(dir, "runs");
		DIR *d = rdir ? opendir(rdir) : NULL;
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char *marker;

			if (!valid_id(de->d_name))
				continue;
			/* a checkpoint's replace that a crash cut short */
			marker = run_path(dir, de->d_name, CHECKPOINT_FILE ".tmp");
			if (marker)
				unlink(marker);
			free(marker);
			if (!json_object_get(st->recorded, de->d_name))
				continue;
			marker = run_path(dir, de->d_name, "running.json");
			if (marker)
				unlink(marker);
			free(marker);
			marker = st->keep_checkpoints ? NULL :
				 run_path(dir, de->d_name, CHECKPOINT_FILE);
			if (marker)
				unlink(marker);
			free(marker);
		}
		if (d)
			closedir(d);
		free(rdir);
	}
	remove_leftover_temps(dir);
	if (open_appends(st, err))
		goto done;
	ret = 0;
done:
	if (ret)
		sw_store_release(st);
	json_decref(meta);
	json_decref(runs);
	json_decref(inflight);
	free(path);
	return ret;
}

/* Writes the store's writer may hold not yet begun: about five runs'
 * worth (a run makes 6-7), so a crash loses at most the last few ended
 * runs (resume runs them again) even when runs end faster than the disk
 * records them; runs of a second or more never wait for it. */
#define STORE_MAX_QUEUED 32

int sw_store_write_behind(struct sw_store *st, struct sw_err *err)
{
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	if (!st->writer)
		ret = sw_writer_start(&st->writer, STORE_MAX_QUEUED, err);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int sw_store_flush(struct sw_store *st, struct sw_err *err)
{
	return sw_writer_flush(st->writer, err);
}

char *sw_store_path(const struct sw_store *st, const char *rel)
{
	return path_join(st->dir, rel);
}

int sw_store_meta_update(struct sw_store *st, const json_t *fields,
			 struct sw_err *err)
{
	json_t *meta = NULL;
	char *path = NULL;
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	/* after the queued writes; one that failed does not stop this file,
	 * which then says how the sweep ended */
	sw_writer_flush(st->writer, NULL);
	if (sw_store_load_meta(st->dir, &meta, err))
		goto done;
	if (json_object_update(meta, (json_t *)fields)) {
		sw_errorf(err, "cannot update meta.json: fields must be an object");
		goto done;
	}
	path = path_join(st->dir, "meta.json");
	if (!path) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = replace_json(NULL, path, meta, err);
done:
	pthread_mutex_unlock(&st->lock);
	json_decref(meta);
	free(path);
	return ret;
}

/* runs/<id>/, made (durably, in order) if it is not there. */
static int make_run_dir(struct sw_store *st, const char *id, struct sw_err *err)
{
	char *path = run_path(st->dir, id, NULL);
	int ret;

	if (!path)
		return sw_errorf(err, "out of memory");
	ret = sw_durable_mkdir(st->writer, path, err) ? -1 : 0;
	free(path);
	return ret;
}

int sw_store_run_begin(struct sw_store *st, const char *id,
		       const json_t *params, uint64_t seed, int64_t index,
		       struct sw_err *err)
{
	struct sw_store_run *r = NULL;
	char *path = NULL, stamp[32];
	json_t *marker = NULL;
	int ret = -1;

	if (!valid_id(id))
		return sw_errorf(err, "invalid run id '%s' (use 1-64 of [A-Za-z0-9_-])",
				 id ? id : "");
	pthread_mutex_lock(&st->lock);
	if (json_object_get(st->recorded, id)) {
		sw_errorf(err, "run '%s' is already recorded in '%s/runs.jsonl'", id,
			  st->dir);
		goto done;
	}
	if (find_active(st, id)) {
		sw_errorf(err, "run '%s' is already running", id);
		goto done;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->id = strdup(id)) || !(r->last = json_object()) ||
	    !(r->rows = json_array()) ||
	    !(r->params = params ? json_deep_copy(params) : json_object())) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	r->seed = seed;
	r->index = index;
	if (make_run_dir(st, id, err) < 0)
		goto done;
	/* A new, empty history (a rerun starts over), then the marker, whose
	 * atomic replace ends with an fsync of the run directory that also
	 * makes the history's entry durable. A crash before the marker leaves
	 * a run that never started: its index is handed out again. */
	path = run_path(st->dir, id, "history.jsonl");
	if (!path)
		goto oom;
	if (sw_durable_create_empty(st->writer, path, err))
		goto done;
	free(path);
	iso_time(stamp, time(NULL));
	marker = json_pack("{s:s, s:O, s:I, s:I, s:s}", "id", id, "params", r->params,
			   "seed", (json_int_t)seed, "index", (json_int_t)index,
			   "start_time", stamp);
	path = run_path(st->dir, id, "running.json");
	if (!marker || !path)
		goto oom;
	if (replace_json(st->writer, path, marker, err))
		goto done;
	r->t0 = now_mono();
	r->next = st->active;
	st->active = r;
	r = NULL;
	ret = 0;
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	pthread_mutex_unlock(&st->lock);
	run_free(r);
	json_decref(marker);
	free(path);
	return ret;
}

int sw_store_epoch(struct sw_store *st, const char *id, const struct sw_kv *m,
		   size_t n, int *new_best, struct sw_err *err)
{
	struct sw_store_run *r;
	json_t *line = NULL, *last = NULL;
	char *path = NULL;
	double runtime;
	size_t i;
	int ret = -1, has_metric = 0;
	double mv = 0;

	if (new_best)
		*new_best = 0;
	r = lock_begun(st, id, err);
	if (!r)
		goto done;
	runtime = now_mono() - r->t0;
	line = json_pack("{s:I, s:f, s:f, s:I}", "_step", (json_int_t)r->epochs,
			 "_runtime", runtime, "_timestamp", now_wall(),
			 "epoch", (json_int_t)(r->epochs + 1));
	last = json_object();
	if (!line || !last)
		goto oom;
	for (i = 0; i < n; i++) {
		json_t *v = sw_wandb_number_json(m[i].value);

		if (!m[i].name || !*m[i].name || m[i].name[0] == '_') {
			json_decref(v);
			sw_errorf(err, "invalid metric name '%s'", m[i].name ? m[i].name : "");
			goto done;
		}
		if (!v || json_object_set(line, m[i].name, v) ||
		    json_object_set_new(last, m[i].name, v))
			goto oom;
		if (st->metric && !strcmp(m[i].name, st->metric) && isfinite(m[i].value)) {
			has_metric = 1;
			mv = m[i].value;
		}
	}
	path = run_path(st->dir, id, "history.jsonl");
	if (!path)
		goto oom;
	if (append_json(st->writer, -1, path, line, err))
		goto done;
	if (json_array_append(r->rows, line))
		goto oom;
	json_decref(r->last);
	r->last = last;
	last = NULL;
	r->last_runtime = runtime;
	if (has_metric && (!r->has_best || better(mv, r->best, st->maximize))) {
		r->has_best = 1;
		r->best = mv;
		r->best_step = r->epochs;
	}
	r->epochs++;
	if (has_metric && (!st->best ||
			   better(mv, json_number_value(json_object_get(st->best, "value")),
				  st->maximize))) {
		json_t *best = json_pack("{s:s, s:s, s:s, s:f, s:I, s:I, s:O, s:I, s:f}",
					 "run", id, "metric", st->metric, "goal",
					 st->maximize ? "maximize" : "minimize", "value", mv,
					 "_step", (json_int_t)(r->epochs - 1),
					 "epoch", (json_int_t)r->epochs, "params", r->params,
					 "seed", (json_int_t)r->seed, "_timestamp", now_wall());
		char *bpath = path_join(st->dir, "best.json");

		if (!best || !bpath) {
			json_decref(best);
			free(bpath);
			goto oom;
		}
		if (replace_json(st->writer, bpath, best, err)) {
			json_decref(best);
			free(bpath);
			goto done;
		}
		free(bpath);
		json_decref(st->best);
		st->best = best;
		if (new_best)
			*new_best = 1;
	}
	ret = 0;
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	pthread_mutex_unlock(&st->lock);
	json_decref(line);
	json_decref(last);
	free(path);
	return ret;
}

int sw_store_run_end(struct sw_store *st, const char *id,
		     enum sw_run_state state, const char *reason, json_t **out,
		     struct sw_err *err)
{
	struct sw_store_run *r, **pp;
	json_t *rec = NULL, *summary = NULL;
	char *path = NULL, *runs_path = NULL;
	int ret = -1;

	if (out)
		*out = NULL;
	pthread_mutex_lock(&st->lock);
	for (pp = &st->active; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id ? id : ""))
			break;
	r = *pp;
	if (!r) {
		sw_errorf(err, "run '%s' was not begun", id ? id : "");
		goto done;
	}
	*pp = r->next;
	r->next = NULL;
	if (json_object_get(st->recorded, id)) {
		sw_errorf(err, "run '%s' is already recorded", id);
		goto done;
	}
	summary = json_deep_copy(r->summary ? r->summary : r->last);
	if (!summary)
		goto oom;
	if (r->epochs > 0 && !r->summary) {
		json_object_set_new(summary, "_step", json_integer(r->epochs - 1));
		json_object_set_new(summary, "_runtime", json_real(r->last_runtime));
	}
	if (r->has_best)
		json_object_set_new(summary, "best",
				    json_pack("{s:s, s:f, s:I}", "name", st->metric,
					      "value", r->best, "_step",
					      (json_int_t)r->best_step));
	rec = json_pack("{s:s, s:s, s:O, s:O, s:I, s:I, s:I, s:f}", "id", id,
			"state", sw_run_state_name(state), "params", r->params,
			"summary", summary, "epochs", (json_int_t)r->epochs,
			"seed", (json_int_t)r->seed, "index", (json_int_t)r->index,
			"runtime_s", now_mono() - r->t0);
	if (!rec)
		goto oom;
	if (reason)
		json_object_set_new(rec, "reason", json_string(reason));
	if (r->notes)
		json_object_update_missing(rec, r->notes);
	runs_path = path_join(st->dir, "runs.jsonl");
	if (!runs_path)
		goto oom;
	if (append_json(st->writer, st->runs_fd, runs_path, rec, err))
		goto done;
	json_object_set_new(st->recorded, id, json_true());
	/* no fsync needed: a marker that survives a crash beside a recorded
	 * run is deleted by sw_store_open() */
	path = run_path(st->dir, id, "running.json");
	if (path)
		sw_durable_unlink(st->writer, path, NULL);
	free(path);
	/* after the line: a crash in between leaves a checkpoint of a recorded
	 * run, which sw_store_open deletes */
	path = st->keep_checkpoints ? NULL : run_path(st->dir, id, CHECKPOINT_FILE);
	if (path)
		sw_durable_unlink(st->writer, path, NULL);
	if (out)
		*out = json_incref(rec);
	ret = 0;
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	pthread_mutex_unlock(&st->lock);
	run_free(r);
	json_decref(rec);
	json_decref(summary);
	free(path);
	free(runs_path);
	return ret;
}

/* The history rows as JSON Lines, in a new buffer. */
static int history_text(const json_t *history, const char *path,
			struct sw_buf *out, struct sw_err *err)
{
	const json_t *row;
	size_t i, n;

	json_array_foreach(history, i, row) {
		char *line = json_line(row, JSON_COMPACT | JSON_ENCODE_ANY, path, &n, err);
		int rc = line ? sw_buf_append(out, line, n) : -1;

		free(line);
		if (!line)
			return -1;
		if (rc < 0)
			return sw_errorf(err, "out of memory");
	}
	return 0;
}

/* best.json for a run added whole, when its summary beats the best. */
static int best_from_summary(struct sw_store *st, const char *id,
			     const json_t *record, struct sw_err *err)
{
	const json_t *summary = json_object_get(record, "summary");
	const json_t *v = st->metric ? json_object_get(summary, st->metric) : NULL;
	json_t *best;
	char *path;
	double mv;
	int ret;

	if (!json_is_number(v) || !isfinite(mv = json_number_value(v)))
		return 0;
	if (st->best && !better(mv, json_number_value(json_object_get(st->best, "value")),
				st->maximize))
		return 0;
	best = json_pack("{s:s, s:s, s:s, s:f, s:O*, s:O*}", "run", id, "metric",
			 st->metric, "goal", st->maximize ? "maximize" : "minimize",
			 "value", mv, "_step", json_object_get(summary, "_step"),
			 "params", json_object_get(record, "params"));
	path = path_join(st->dir, "best.json");
	if (!best || !path) {
		json_decref(best);
		free(path);
		return sw_errorf(err, "out of memory");
	}
	ret = replace_json(st->writer, path, best, err);
	free(path);
	if (ret < 0) {
		json_decref(best);
		return -1;
	}
	json_decref(st->best);
	st->best = best;
	return 0;
}

int sw_store_run_add(struct sw_store *st, const json_t *record,
		     const json_t *history, struct sw_err *err)
{
	const char *id = json_string_value(json_object_get(record, "id"));
	enum sw_run_state state;
	struct sw_buf text = SW_BUF_INIT;
	char *path = NULL, *runs_path = NULL;
	int ret = -1;

	if (!valid_id(id))
		return sw_errorf(err, "invalid run id '%s' (use 1-64 of [A-Za-z0-9_-])",
				 id ? id : "");
	if (sw_run_state_parse(json_string_value(json_object_get(record, "state")),
			       &state) < 0 || !json_is_array(history))
		return sw_errorf(err, "run '%s': no valid state or history", id);
	pthread_mutex_lock(&st->lock);
	if (json_object_get(st->recorded, id) || find_active(st, id)) {
		sw_errorf(err, "run '%s' is already in '%s'", id, st->dir);
		goto done;
	}
	if (make_run_dir(st, id, err) < 0)
		goto done;
	path = run_path(st->dir, id, "history.jsonl");
	if (!path)
		goto oom;
	if (history_text(history, path, &text, err) < 0 ||
	    sw_durable_replace(st->writer, path, text.data ? text.data : "", text.len, err))
		goto done;
	if (best_from_summary(st, id, record, err) < 0)
		goto done;
	runs_path = path_join(st->dir, "runs.jsonl");
	if (!runs_path)
		goto oom;
	if (append_json(st->writer, st->runs_fd, runs_path, record, err))
		goto done;
	json_object_set_new(st->recorded, id, json_true());
	ret = 0;
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	pthread_mutex_unlock(&st->lock);
	sw_buf_release(&text);
	free(path);
	free(runs_path);
	return ret;
}

int sw_store_run_record(struct sw_store *st, const char *id, const json_t *history,
			const json_t *summary, struct sw_err *err)
{
	struct sw_store_run *r;
	struct sw_buf text = SW_BUF_INIT;
	json_t *copy = NULL, *v;
	char *path = NULL;
	double x;
	int ret = -1;

	r = lock_begun(st, id, err);
	if (!r)
		goto done;
	if (history) {
		path = run_path(st->dir, id, "history.jsonl");
		if (!path)
			goto oom;
		if (history_text(history, path, &text, err) < 0 ||
		    sw_durable_replace(st->writer, path, text.data ? text.data : "", text.len,
				       err))
			goto done;
		r->epochs = (int64_t)json_array_size(history);
	}
	if (summary) {
		copy = json_deep_copy(summary);
		if (!copy)
			goto oom;
		/* wandb's controller reads a run's metric from its summary */
		r->has_best = 0;
		v = st->metric ? json_object_get(copy, st->metric) : NULL;
		if (v && sw_wandb_value_number(v, &x) && isfinite(x)) {
			json_t *step = json_object_get(copy, "_step");

			if (json_object_set_new(copy, "best",
						json_pack("{s:s, s:f, s:I}", "name", st->metric,
							  "value", x, "_step",
							  (json_int_t)json_integer_value(step))))
				goto oom;
		}
		json_decref(r->summary);
		r->summary = copy;
		copy = NULL;
	}
	ret = 0;
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	pthread_mutex_unlock(&st->lock);
	json_decref(copy);
	sw_buf_release(&text);
	free(path);
	return ret;
}

int sw_store_run_leave(struct sw_store *st, const char *id, struct sw_err *err)
{
	struct sw_store_run *r = NULL, **pp;

	pthread_mutex_lock(&st->lock);
	for (pp = &st->active; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id ? id : "")) {
			r = *pp;
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&st->lock);
	if (!r)
		return sw_errorf(err, "run '%s' was not begun", id ? id : "");
	run_free(r);
	return 0;
}

char *sw_store_checkpoint_path(const struct sw_store *st, const char *id)
{
	return run_path(st->dir, id, CHECKPOINT_FILE);
}

int sw_store_checkpoint(struct sw_store *st, const char *id, const void *data,
			size_t len, struct sw_err *err)
{
	char *path = NULL;
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	if (!id || !find_active(st, id)) {
		sw_errorf(err, "run '%s' was not begun", id ? id : "");
		goto done;
	}
	path = run_path(st->dir, id, CHECKPOINT_FILE);
	if (!path) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_durable_replace(st->writer, path, data, len, err);
done:
	pthread_mutex_unlock(&st->lock);
	free(path);
	return ret;
}

json_t *sw_store_run_rows(struct sw_store *st, const char *id)
{
	struct sw_store_run *r;
	json_t *rows = NULL;

	pthread_mutex_lock(&st->lock);
	r = id ? find_active(st, id) : NULL;
	if (r)
		rows = json_deep_copy(r->rows);
	pthread_mutex_unlock(&st->lock);
	return rows;
}

/* 0 when rows are history rows 0..n-1 as sw_store_epoch writes them. */
static int check_rows(const json_t *rows)
{
	size_t i;
	json_t *row;

	if (!json_is_array(rows))
		return -1;
	json_array_foreach(rows, i, row)
		if (!json_is_object(row) ||
		    json_integer_value(json_object_get(row, "_step")) != (json_int_t)i ||
		    !json_is_number(json_object_get(row, "_runtime")))
			return -1;
	return 0;
}

/* Sets r's step, last metrics, runtime and best from rows (checked). */
static int run_from_rows(struct sw_store *st, struct sw_store_run *r,
			 const json_t *rows)
{
	size_t i, n = json_array_size(rows);
	json_t *row, *last = json_object(), *copy = json_deep_copy(rows);
	const char *key;
	json_t *v;

	if (!last || !copy) {
		json_decref(last);
		json_decref(copy);
		return -1;
	}
	r->has_best = 0;
	json_array_foreach(rows, i, row) {
		v = json_object_get(row, st->metric ? st->metric : "");
		if (json_is_number(v) && isfinite(json_number_value(v)) &&
		    (!r->has_best || better(json_number_value(v), r->best, st->maximize))) {
			r->has_best = 1;
			r->best = json_number_value(v);
			r->best_step = (int64_t)i;
		}
	}
	row = n ? json_array_get(rows, n - 1) : NULL;     /* none: all reset */
	json_object_foreach(row, key, v)
		if (key[0] != '_' && strcmp(key, "epoch"))
			json_object_set(last, key, v);
	json_decref(r->last);
	r->last = last;
	json_decref(r->rows);
	r->rows = copy;
	r->epochs = (int64_t)n;
	r->last_runtime = json_number_value(json_object_get(row, "_runtime"));
	r->t0 = now_mono() - r->last_runtime;
	return 0;
}

/* Makes rows (checked; may be empty) active run id's history: the file and
 * its step, clock, last metrics and best. */
static int replace_history(struct sw_store *st, const char *id, const json_t *rows,
			   struct sw_err *err)
{
	struct sw_store_run *r;
	struct sw_buf text = SW_BUF_INIT;
	char *path = NULL;
	int ret = -1;

	r = lock_begun(st, id, err);
	if (!r)
		goto done;
	path = run_path(st->dir, id, "history.jsonl");
	if (!path)
		goto oom;
	if (history_text(rows, path, &text, err) < 0 ||
	    sw_durable_replace(st->writer, path, text.data ? text.data : "", text.len, err))
		goto done;
	if (run_from_rows(st, r, rows) < 0)
		goto oom;
	ret = 0;
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	pthread_mutex_unlock(&st->lock);
	sw_buf_release(&text);
	free(path);
	return ret;
}

int sw_store_run_restore(struct sw_store *st, const char *id, const json_t *rows,
			 struct sw_err *err)
{
	if (check_rows(rows) < 0 || json_array_size(rows) == 0)
		return sw_errorf(err, "run '%s': a checkpoint's history is not history "
				 "rows", id ? id : "");
	return replace_history(st, id, rows, err);
}

int sw_store_run_restart(struct sw_store *st, const char *id, struct sw_err *err)
{
	json_t *none = json_array();
	int ret;

	if (!none)
		return sw_errorf(err, "out of memory");
	ret = replace_history(st, id, none, err);
	json_decref(none);
	return ret;
}

int sw_store_run_note(struct sw_store *st, const char *id, const json_t *fields,
		      struct sw_err *err)
{
	struct sw_store_run *r;
	int ret = -1;

	r = lock_begun(st, id, err);
	if (!r)
		goto done;
	if (!r->notes)
		r->notes = json_object();
	if (!r->notes || json_object_update(r->notes, (json_t *)fields) < 0) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = 0;
done:
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int sw_store_alert(struct sw_store *st, const json_t *alert, struct sw_err *err)
{
	char *path = path_join(st->dir, "alerts.jsonl");
	int ret;

	if (!path)
		return sw_errorf(err, "out of memory");
	pthread_mutex_lock(&st->lock);
	ret = append_json(st->writer, st->alerts_fd, path, alert, err);
	pthread_mutex_unlock(&st->lock);
	free(path);
	return ret;
}

int sw_store_best(struct sw_store *st, double *value, char *run_id, size_t size)
{
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	if (st->best) {
		const char *id = json_string_value(json_object_get(st->best, "run"));

		*value = json_number_value(json_object_get(st->best, "value"));
		if (run_id && size)
			snprintf(run_id, size, "%s", id ? id : "");
		ret = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int sw_store_commit_best_model(struct sw_store *st, const char *tmp_path,
			       const char *id, double value, struct sw_err *err)
{
	char *final = NULL;
	const char *bid;
	int ret = -1;

	pthread_mutex_lock(&st->lock);
	bid = st->best ? json_string_value(json_object_get(st->best, "run")) : NULL;
	if (!bid || strcmp(bid, id) ||
	    json_number_value(json_object_get(st->best, "value")) != value) {
		unlink(tmp_path);
		ret = 0;
		goto done;
	}
	final = path_join(st->dir, "best.safetensors");
	if (!final) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (sw_durable_rename(st->writer, tmp_path, final, err))
		goto done;
	ret = 1;
done:
	pthread_mutex_unlock(&st->lock);
	free(final);
	return ret;
}

static int cmp_index(const void *pa, const void *pb)
{
	json_t *const *a = pa, *const *b = pb;
	json_int_t ia = json_integer_value(json_object_get(*a, "index"));
	json_int_t ib = json_integer_value(json_object_get(*b, "index"));

	return ia < ib ? -1 : ia > ib;
}

int sw_store_inflight(struct sw_store *st, json_t **out, struct sw_err *err)
{
	char *rdir = NULL;
	DIR *d = NULL;
	struct dirent *de;
	json_t **items = NULL, *arr = NULL;
	size_t n = 0, alloc = 0, i;
	int ret = -1;

	*out = NULL;
	pthread_mutex_lock(&st->lock);
	if (sw_writer_flush(st->writer, err))
		goto done;
	rdir = path_join(st->dir, "runs");
	if (!rdir) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	d = opendir(rdir);
	if (!d) {
		sw_errorf(err, "cannot open '%s': %s", rdir, strerror(errno));
		goto done;
	}
	while ((de = readdir(d))) {
		char *marker;
		json_error_t jerr;
		json_t *m;

		if (!valid_id(de->d_name) || json_object_get(st->recorded, de->d_name) ||
		    find_active(st, de->d_name))
			continue;
		marker = run_path(st->dir, de->d_name, "running.json");
		if (!marker || access(marker, F_OK)) {
			free(marker);
			continue;
		}
		m = json_load_file(marker, 0, &jerr);
		if (!m || !json_is_object(m)) {
			sw_errorf(err, "'%s' line %d: corrupt in-flight marker (%s)", marker,
				  jerr.line, m ? "not an object" : jerr.text);
			json_decref(m);
			free(marker);
			goto done;
		}
		free(marker);
		if (n == alloc) {
			json_t **ni;

			alloc = alloc ? alloc * 2 : 8;
			ni = realloc(items, alloc * sizeof(*items));
			if (!ni) {
				json_decref(m);
				sw_errorf(err, "out of memory");
				goto done;
			}
			items = ni;
		}
		items[n++] = m;
	}
	if (n)
		qsort(items, n, sizeof(*items), cmp_index);
	arr = json_array();
	if (!arr) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		json_array_append_new(arr, items[i]);
		items[i] = NULL;
	}
	*out = arr;
	ret = 0;
done:
	pthread_mutex_unlock(&st->lock);
	for (i = 0; i < n; i++)
		json_decref(items[i]);
	free(items);
	if (d)
		closedir(d);
	free(rdir);
	return ret;
}
