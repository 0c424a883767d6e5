/* trial_process.c - an external program as a trial runner; see
 * include/sweep/run/trial.h (struct sw_trial_process_config) */
#define _GNU_SOURCE
#include "sweep/run/trial.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "sweep/spec/command_macros.h"
#include "sweep/spec/flow_style.h"
#include "sweep/offline/wandb_hook.h"
#include "sweep/offline/wandb_runfile.h"

extern char **environ;

#define LINE_CAP (16 * 1024)          /* longest output line passed through */
#define METRICS_LINE_CAP (1024 * 1024) /* longest metrics line */
#define LOG_CAP (64L * 1024 * 1024)    /* output.log stops growing here */
#define TAIL_LINES 6                  /* stderr lines kept for the reason */
#define MAX_METRICS 256

struct process_impl {
	char *program, **command, *sweep_id, *workdir, *runs_dir, *interpreter;
	size_t n_command;
	char **env;
	double grace_s;
	FILE *out;
	int quiet;
	int wandb_offline;
	char *hook_dir;
};

struct sw_trial {
	const struct process_impl *p;
	const char *id;
};

/* ==== Small helpers ==== */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char **strv_dup(const char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));
	size_t i;

	for (i = 0; out && i < n; i++) {
		out[i] = strdup(v[i] ? v[i] : "");
		if (!out[i]) {
			sw_argv_free(out);
			return NULL;
		}
	}
	return out;
}

static size_t strv_len(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Whether name is an executable found on PATH, or, when it has a '/', at
 * that path (relative to dir). */
static int find_exec(const char *name, const char *dir, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *e;

	if (strchr(name, '/')) {
		if (name[0] == '/' || !dir)
			snprintf(out, size, "%s", name);
		else
			snprintf(out, size, "%s/%s", dir, name);
		return access(out, X_OK) == 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		struct stat sb;

		e = strchrnul(p, ':');
		snprintf(out, size, "%.*s/%s", (int)(e - p), e > p ? p : ".", name);
		if (stat(out, &sb) == 0 && S_ISREG(sb.st_mode) && access(out, X_OK) == 0)
			return 1;
	}
	return 0;
}

const char *sw_trial_python(void)
{
	char buf[PATH_MAX];

	if (!find_exec("python", NULL, buf, sizeof(buf)) &&
	    find_exec("python3", NULL, buf, sizeof(buf)))
		return "python3";
	return "python";
}


static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -1;
}

/* A scalar in YAML as PyYAML reads it back (floats keep a '.', so 1e-05
 * is written 1.0e-05 as yaml.dump does; strings double-quoted, integers,
 * true, null as JSON writes them). */
static int yaml_scalar(struct sw_buf *b, const json_t *v)
{
	char num[48], *e, *s;
	int rc;
	double x;

	if (json_is_real(v)) {
		x = json_real_value(v);
		if (isnan(x))
			return sw_buf_appendf(b, ".nan");
		if (isinf(x))
			return sw_buf_appendf(b, "%s.inf", x < 0 ? "-" : "");
		sw_py_repr_float(x, num, sizeof(num));
		e = strchr(num, 'e');
		if (e && !memchr(num, '.', (size_t)(e - num)))
			return sw_buf_appendf(b, "%.*s.0%s", (int)(e - num), num, e);
		return sw_buf_appendf(b, "%s", num);
	}
	s = json_dumps(v, JSON_ENCODE_ANY);
	rc = s ? sw_buf_appendf(b, "%s", s) : -1;
	free(s);
	return rc;
}

static int yaml_key(struct sw_buf *b, const char *key)
{
	json_t *k = json_string(key);
	int rc = k ? yaml_scalar(b, k) : -1;

	json_decref(k);
	return rc;
}

/* v in YAML flow style. */
static const struct sw_flow_style yaml_style = { yaml_scalar, yaml_key };

/* wandb's config-RUN.yaml: `wandb_version: 1`, a blank line, then
 * `k:\n  value: v` per argument. */
static char *param_yaml(const json_t *params)
{
	struct sw_buf b = SW_BUF_INIT;
	const char *key;
	json_t *v;
	int rc = sw_buf_appendf(&b, "wandb_version: 1\n\n");

	json_object_foreach((json_t *)params, key, v) {
		if (rc == 0)
			rc = sw_buf_appendf(&b, "%s:\n  value: ", key);
		if (rc == 0)
			rc = sw_flow_write(&b, v, &yaml_style);
		if (rc == 0)
			rc = sw_buf_append(&b, "\n", 1);
	}
	if (rc < 0) {
		sw_buf_release(&b);
		return NULL;
	}
	return sw_buf_detach(&b, NULL);
}

/* ==== The running child ==== */

struct stream {
	int fd;
	int is_stdout;
	struct sw_buf line;
	int skipping;               /* dropping the rest of an overlong line */
};

struct child {
	struct sw_trial t;
	const struct sw_trial_hooks *h;
	const struct process_impl *p;
	const char *id;
	pid_t pid;
	FILE *log;
	long log_bytes;
	int stop_requested;
	double term_at;             /* when SIGTERM went; 0: not yet */
	int killed;
	int64_t epoch;
	int64_t epochs_reported;
	char tail[TAIL_LINES][160];
	int n_tail;
	/* metrics file */
	int mfd;
	struct sw_buf mline;
	int mskipping;
};

static void log_line(struct child *c, const char *tag, const char *line, size_t n)
{
	if (!c->log || c->log_bytes > LOG_CAP)
		return;
	c->log_bytes += fprintf(c->log, "%s%.*s\n", tag, (int)n, line);
	if (c->log_bytes > LOG_CAP)
		fprintf(c->log, "[output.log reached %ld bytes: the rest is not kept]\n",
			LOG_CAP);
}

/* {"_wandb": "alert", ...}: feeds hooks->on_alert. */
static void report_alert(struct child *c, const json_t *o)
{
	const char *title = json_string_value(json_object_get(o, "title"));
	const char *text = json_string_value(json_object_get(o, "text"));
	const char *level = json_string_value(json_object_get(o, "level"));

	if (c->h->on_alert)
		c->h->on_alert(c->h->ctx, c->epoch, title ? title : "alert",
			       text ? text : "", level ? level : "INFO");
}

/* One metrics object: feeds hooks->on_epoch. A plain line is an epoch of
 * numbers with an optional "epoch"; a line of the wandb hook is a row of
 * wandb's history ("_step" gives the epoch, "epoch" is a metric like any)
 * or an alert. */
static void report(struct child *c, const char *text, size_t n)
{
	json_t *o = json_loadb(text, n, 0, NULL), *row, *v, *ep;
	struct sw_kv kv[MAX_METRICS];
	const char *key, *kind;
	size_t k = 0;
	int64_t epoch;
	double x;

	if (!json_is_object(o))
		goto done;
	kind = json_string_value(json_object_get(o, "_wandb"));
	row = o;
	ep = json_object_get(o, "epoch");
	if (kind && !strcmp(kind, "alert")) {
		report_alert(c, o);
		goto done;
	} else if (kind && !strcmp(kind, "log")) {
		row = json_object_get(o, "row");
		ep = json_object_get(o, "_step");
		if (!json_is_object(row) || !json_is_integer(ep))
			goto done;
	} else if (kind) {
		goto done;              /* from a newer hook: not ours to guess */
	}
	json_object_foreach(row, key, v) {
		if (k >= MAX_METRICS || key[0] == '_' || (row == o && !strcmp(key, "epoch")))
			continue;
		if (row == o ? !json_is_number(v) : !sw_wandb_value_number(v, &x))
			continue;
		kv[k].name = key;
		kv[k].value = row == o ? json_number_value(v) : x;
		k++;
	}
	epoch = c->epoch + 1;
	if (row != o && json_integer_value(ep) >= c->epoch &&
	    json_integer_value(ep) < INT64_MAX)
		epoch = json_integer_value(ep) + 1;
	else if (row == o && json_is_integer(ep) && json_integer_value(ep) > c->epoch)
		epoch = json_integer_value(ep);
	else if (row == o && json_is_real(ep) && json_real_value(ep) > (double)c->epoch &&
		 json_real_value(ep) < 1e15)
		epoch = (int64_t)json_real_value(ep);
	if (k > 0) {
		c->epoch = epoch;
		c->epochs_reported++;
		if (c->h->on_epoch && c->h->on_epoch(c->h->ctx, &c->t, epoch, kv, k))
			c->stop_requested = 1;
	}
done:
	json_decref(o);
}

/* A whole output line (without its newline). */
static void on_line(struct child *c, struct stream *s, const char *line, size_t n,
		    int cut)
{
	const char *p = line;

	if (s->is_stdout && n >= 6 && !strncmp(line, "sweep:", 6) && !cut) {
		p += 6;
		while (p < line + n && (*p == ' ' || *p == '\t'))
			p++;
		if (p < line + n && *p == '{') {
			log_line(c, "", line, n);
			report(c, p, (size_t)(line + n - p));
			return;
		}
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	log_line(c, s->is_stdout ? "" : "", line, n);
	if (!s->is_stdout) {
		int i = c->n_tail < TAIL_LINES ? c->n_tail++ : TAIL_LINES - 1;

		if (i == TAIL_LINES - 1 && c->n_tail == TAIL_LINES)
			memmove(c->tail[0], c->tail[1], sizeof(c->tail[0]) * (TAIL_LINES - 1));
		snprintf(c->tail[i], sizeof(c->tail[i]), "%.*s", (int)n, line);
	}
	if (!c->p->quiet) {
		FILE *out = c->p->out ? c->p->out : stderr;

		flockfile(out);
		fprintf(out, "[%s] %.*s%s\n", c->id, (int)n, line, cut ? " [line cut]" : "");
		fflush(out);
		funlockfile(out);
	}
}

/* Splits new bytes of a stream into lines. */
static void feed(struct child *c, struct stream *s, const char *data, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;

		if (s->skipping) {
			if (nl)
				s->skipping = 0;
		} else if (s->line.len + take > LINE_CAP) {
			size_t room = LINE_CAP - s->line.len;

			sw_buf_append(&s->line, data, room);
			on_line(c, s, s->line.data, s->line.len, 1);
			sw_buf_reset(&s->line);
			s->skipping = !nl;
		} else if (nl) {
			if (s->line.len) {
				sw_buf_append(&s->line, data, take);
				on_line(c, s, s->line.data, s->line.len, 0);
				sw_buf_reset(&s->line);
			} else {
				on_line(c, s, data, take, 0);
			}
		} else {
			sw_buf_append(&s->line, data, take);
		}
		if (!nl)
			break;
		n -= take + 1;
		data = nl + 1;
	}
}

/* Reads what the child appended to its metrics file; at_end also takes a
 * last line without its newline. */
static void poll_metrics(struct child *c, int at_end)
{
	char buf[8192];
	ssize_t got;

	if (c->mfd < 0)
		return;
	while ((got = read(c->mfd, buf, sizeof(buf))) > 0) {
		const char *d = buf;
		size_t n = (size_t)got;

		while (n > 0) {
			const char *nl = memchr(d, '\n', n);
			size_t take = nl ? (size_t)(nl - d) : n;

			if (c->mskipping || c->mline.len + take > METRICS_LINE_CAP) {
				c->mskipping = !nl;
				sw_buf_reset(&c->mline);
			} else {
				sw_buf_append(&c->mline, d, take);
				if (nl) {
					report(c, c->mline.data ? c->mline.data : "", c->mline.len);
					sw_buf_reset(&c->mline);
				}
			}
			if (!nl)
				break;
			n -= take + 1;
			d = nl + 1;
		}
	}
	if (at_end && c->mline.len && !c->mskipping) {
		report(c, c->mline.data, c->mline.len);
		sw_buf_reset(&c->mline);
	}
}

static int drain(struct child *c, struct stream *s)
{
	char buf[65536];
	ssize_t got = read(s->fd, buf, sizeof(buf));

	if (got > 0) {
		feed(c, s, buf, (size_t)got);
		return 1;
	}
	if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
		if (s->line.len && !s->skipping)
			on_line(c, s, s->line.data, s->line.len, 0);
		sw_buf_reset(&s->line);
		close(s->fd);
		s->fd = -1;
	}
	return 0;
}

static int stop_wanted(struct child *c)
{
	return c->stop_requested || (c->h->stop && atomic_load(c->h->stop));
}

/* ==== The run file (wandb offline) ==== */

/* The run file wandb wrote for run id under wandb_dir: the newest
 * .../run-ID.wandb changed since `since` (an older one is a previous
 * attempt's; other ids are other runs, or a second wandb.init() of the
 * script). A new string, or NULL when there is none. */
static char *find_run_file(const char *wandb_dir, const char *id, time_t since)
{
	char **paths = NULL, *best = NULL, want[96];
	size_t n = 0, i, wl;
	time_t best_t = 0;

	snprintf(want, sizeof(want), "/run-%s.wandb", id);
	wl = strlen(want);
	if (sw_wandb_runfiles_list(wandb_dir, &paths, &n, NULL) < 0)
		return NULL;
	for (i = 0; i < n; i++) {
		size_t len = strlen(paths[i]);
		struct stat sb;

		if (len < wl || strcmp(paths[i] + len - wl, want) ||
		    stat(paths[i], &sb) < 0 || sb.st_mtime < since ||
		    (best && sb.st_mtime < best_t))
			continue;
		free(best);
		best = strdup(paths[i]);
		best_t = sb.st_mtime;
	}
	sw_wandb_runfiles_free(paths);
	return best;
}

/* A row or summary of the run file as the results store keeps it: nested
 * dicts flattened to "a.b", wandb's "_step", "_runtime" and "_timestamp",
 * and the metrics (numbers; NaN and infinities as strings); strings,
 * media and wandb's other "_" keys are left out. NULL on OOM. */
static json_t *metrics_of(const json_t *row)
{
	json_t *flat = sw_wandb_row_flatten(row), *out = json_object(), *v;
	const char *key;
	double x;

	if (!flat || !out) {
		json_decref(flat);
		json_decref(out);
		return NULL;
	}
	json_object_foreach(flat, key, v) {
		if (key[0] == '_' && strcmp(key, "_step") && strcmp(key, "_runtime") &&
		    strcmp(key, "_timestamp"))
			continue;
		if (sw_wandb_value_number(v, &x) && json_object_set(out, key, v) < 0) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	json_decref(flat);
	return out;
}

/* Reads the run's file into res: its history when it holds at least the
 * rows that arrived live (a killed run's file may hold fewer, or none),
 * its summary when it has one, and its exit code unless the run was
 * stopped. A damaged file gives res->warning. */
static void read_run_file(struct child *c, const char *wandb_dir, time_t since,
			  struct sw_trial_result *res)
{
	struct sw_wandb_runfile run = SW_WANDB_RUNFILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	char *path = find_run_file(wandb_dir, c->id, since);
	json_t *rows = NULL, *row;
	size_t i;

	if (!path)
		return;
	if (sw_wandb_runfile_read(path, &run, &err) < 0) {
		snprintf(res->warning, sizeof(res->warning), "%s", err.msg);
		goto done;
	}
	if (run.warning[0] && c->term_at == 0)      /* a stopped run's file is cut */
		snprintf(res->warning, sizeof(res->warning), "%s", run.warning);
	if (json_array_size(run.history) > 0 &&
	    (int64_t)json_array_size(run.history) >= c->epochs_reported) {
		rows = json_array();
		json_array_foreach(run.history, i, row) {
			json_t *m = rows ? metrics_of(row) : NULL;

			/* the store's lines all have an epoch: the script's own,
			 * else the row's number */
			if (m && !json_object_get(m, "epoch"))
				json_object_set_new(m, "epoch", json_integer((json_int_t)i + 1));
			if (!m || json_array_append_new(rows, m) < 0) {
				json_decref(rows);
				rows = NULL;
				break;
			}
		}
		res->wandb_history = rows;
	}
	if (json_object_size(run.summary) > 0)
		res->wandb_summary = metrics_of(run.summary);
	if (!run.has_exit || c->term_at > 0)
		goto done;
	if (run.exit_code == 0 && res->status == SW_TRIAL_FAILED) {
		/* wandb.finish() ran; what the process did after is not the run */
		res->status = SW_TRIAL_FINISHED;
		res->exit_code = 0;
		res->reason[0] = '\0';
	} else if (run.exit_code != 0) {
		if (res->status != SW_TRIAL_FAILED)
			snprintf(res->reason, sizeof(res->reason),
				 "the wandb run ended with exit code %d", run.exit_code);
		res->status = SW_TRIAL_FAILED;
		res->exit_code = run.exit_code;
	}
done:
	sw_wandb_runfile_release(&run);
	free(path);
}

/* ==== Running one trial ==== */

static void fail(struct sw_trial_result *res, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct sw_trial_result *res, int code, const char *fmt, ...)
{
	va_list ap;

	res->status = SW_TRIAL_FAILED;
	res->exit_code = code;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* Builds the child's environment: ours without the keys of add, then add. */
static char **build_env(char *const *add)
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + strv_len((const char *const *)add) + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int dup = 0;

		for (j = 0; add[j] && !dup; j++)
			dup = !strncmp(add[j], environ[i], len) && add[j][len] == '=';
		if (!dup)
			env[k++] = environ[i];
	}
	for (j = 0; add[j]; j++)
		env[k++] = add[j];
	env[k] = NULL;
	return env;
}

static int process_run_named(const struct sw_trial_runner *r, const char *run_id,
			     const json_t *params, uint64_t seed,
			     const struct sw_trial_hooks *h, struct sw_trial_result *res)
{
	const struct process_impl *p = r->impl;
	struct sw_macro_ctx mctx = SW_MACRO_CTX_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct child c;
	struct stream so = { -1, 1, SW_BUF_INIT, 0 }, se = { -1, 0, SW_BUF_INIT, 0 };
	char **argv = NULL, **add = NULL, **envp = NULL, *yaml = NULL, *json = NULL;
	char *sweepdir = NULL, *param_path = NULL, *json_rel = NULL, *mpath = NULL;
	char *logpath = NULL, *wandb_dir = NULL, exe[PATH_MAX], interp[PATH_MAX];
	char cwd[PATH_MAX], idbuf[32];
	const char *workdir = p->workdir, *wd_env;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, xp[2] = { -1, -1 };
	size_t argc = 0, na = 0, i, extra = strv_len((const char *const *)p->env);
	int status = 0, exited = 0, exec_errno = 0;
	double exit_at = 0;
	time_t started = time(NULL);
	sigset_t all, old;

	(void)seed;
	memset(&c, 0, sizeof(c));
	c.mfd = -1;
	if (!run_id) {
		static atomic_int serial;

		snprintf(idbuf, sizeof(idbuf), "run-%ld-%d", (long)getpid(),
			 atomic_fetch_add(&serial, 1));
		run_id = idbuf;
	}
	c.t.p = p;
	c.t.id = run_id;
	c.h = h;
	c.p = p;
	c.id = run_id;
	if (!workdir) {
		if (!getcwd(cwd, sizeof(cwd)))
			snprintf(cwd, sizeof(cwd), ".");
		workdir = cwd;
	}
	/* the files wandb's agent writes, and ours */
	wd_env = getenv("WANDB_DIR");
	if (wd_env && *wd_env) {
		if (asprintf(&wandb_dir, "%s", wd_env) < 0)
			wandb_dir = NULL;
	} else if (p->wandb_offline && p->runs_dir) {
		/* offline runs stay with the sweep's results, for `wandb sync` */
		if (asprintf(&wandb_dir, "%s/%s", p->runs_dir, run_id) < 0)
			wandb_dir = NULL;
	} else if (asprintf(&wandb_dir, "%s", workdir) < 0) {
		wandb_dir = NULL;
	}
	if (!wandb_dir || asprintf(&param_path, "%s/wandb/sweep-%s/config-%s.yaml",
				   wandb_dir, p->sweep_id, run_id) < 0)
		param_path = NULL;
	if (asprintf(&json_rel, "wandb/sweep-%s/config-%s.json", p->sweep_id, run_id) < 0)
		json_rel = NULL;
	if (asprintf(&sweepdir, "%s/wandb/sweep-%s", workdir, p->sweep_id) < 0)
		sweepdir = NULL;
	if (p->runs_dir) {
		if (asprintf(&mpath, "%s/%s/metrics.jsonl", p->runs_dir, run_id) < 0)
			mpath = NULL;
		if (asprintf(&logpath, "%s/%s/output.log", p->runs_dir, run_id) < 0)
			logpath = NULL;
	} else if (sweepdir && asprintf(&mpath, "%s/metrics-%s.jsonl", sweepdir, run_id) < 0) {
		mpath = NULL;
	}
	yaml = param_yaml(params);
	if (!param_path || !json_rel || !sweepdir || !mpath || !yaml)
		goto oom;
	{
		char *d = strdup(param_path);

		if (!d)
			goto oom;
		*strrchr(d, '/') = '\0';
		sw_mkdir_p(d, NULL);
		free(d);
	}
	sw_mkdir_p(sweepdir, NULL);
	if (write_file(param_path, yaml) < 0) {
		fail(res, 1, "cannot write the run's parameters to '%s': %s", param_path,
		     strerror(errno));
		goto done;
	}
	{
		char *d = strdup(mpath);

		if (!d)
			goto oom;
		*strrchr(d, '/') = '\0';
		sw_mkdir_p(d, NULL);
		free(d);
	}
	/* a rerun starts its metrics over */
	if (write_file(mpath, "") < 0) {
		fail(res, 1, "cannot create the metrics file '%s': %s", mpath, strerror(errno));
		goto done;
	}
	c.mfd = open(mpath, O_RDONLY | O_CLOEXEC);
	if (logpath)
		c.log = fopen(logpath, "we");
	if (sw_command_uses((const char *const *)p->command, p->n_command,
			    "args_json_file")) {
		char *full = NULL;

		json = sw_py_json_dumps(params);
		if (!json || asprintf(&full, "%s/%s", workdir, json_rel) < 0)
			goto oom;
		if (write_file(full, json) < 0) {
			fail(res, 1, "cannot write '%s': %s", full, strerror(errno));
			free(full);
			goto done;
		}
		free(full);
	}

	/* the command line */
	mctx.params = params;
	mctx.program = p->program;
	mctx.interpreter = p->interpreter;
	mctx.args_json_file = json_rel;
	if (sw_command_expand((const char *const *)p->command, p->n_command, &mctx, &argv,
			      &argc, &err) < 0) {
		fail(res, 1, "%s", err.msg);
		goto done;
	}
	if (argc == 0) {
		fail(res, 1, "the sweep's command is empty");
		goto done;
	}
	if (!find_exec(argv[0], workdir, exe, sizeof(exe))) {
		fail(res, 127, "command '%s' not found%s", argv[0],
		     strchr(argv[0], '/') ? "" : " on PATH");
		goto done;
	}
	/* /usr/bin/env INTERPRETER ...: the interpreter must exist too */
	if (!strcmp(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe, "env")) {
		for (i = 1; i < argc; i++)
			if (argv[i][0] != '-' && !strchr(argv[i], '='))
				break;
		if (i < argc && !find_exec(argv[i], workdir, interp, sizeof(interp))) {
			fail(res, 127, "interpreter '%s' not found%s", argv[i],
			     strchr(argv[i], '/') ? "" : " on PATH (install it, or give the "
			     "sweep a 'command' naming one)");
			goto done;
		}
	}
	if (p->program && sw_command_uses((const char *const *)p->command, p->n_command,
					  "program")) {
		char *full = NULL;
		struct stat sb;
		int missing;

		if (asprintf(&full, "%s%s%s", p->program[0] == '/' ? "" : workdir,
			     p->program[0] == '/' ? "" : "/", p->program) < 0)
			goto oom;
		missing = stat(full, &sb) < 0;
		free(full);
		if (missing) {
			fail(res, 2, "program '%s' not found in '%s'", p->program, workdir);
			goto done;
		}
	}

	/* the environment */
	add = calloc(extra + 12, sizeof(*add));
	if (!add)
		goto oom;
	if (asprintf(&add[na++], "WANDB_SWEEP_ID=%s", p->sweep_id) < 0 ||
	    asprintf(&add[na++], "WANDB_RUN_ID=%s", run_id) < 0 ||
	    asprintf(&add[na++], "WANDB_SWEEP_PARAM_PATH=%s", param_path) < 0 ||
	    asprintf(&add[na++], "WANDB_DIR=%s", wandb_dir) < 0 ||
	    asprintf(&add[na++], "SWEEP_METRICS_FILE=%s", mpath) < 0 ||
	    asprintf(&add[na++], "SWEEP_RUN_ID=%s", run_id) < 0) {
		add[--na] = NULL;
		goto oom;
	}
	if (p->wandb_offline) {
		char *pp = sw_wandb_hook_pythonpath(p->hook_dir, getenv("PYTHONPATH"));

		if (!pp || asprintf(&add[na], "PYTHONPATH=%s", pp) < 0) {
			add[na] = NULL;
			free(pp);
			goto oom;
		}
		na++;
		if (!(add[na++] = strdup("WANDB_MODE=offline")) ||
		    !(add[na++] = strdup("WANDB_ERROR_REPORTING=false"))) {
			free(pp);
			goto oom;
		}
		free(pp);
	}
	/* a run in flight before: wandb's resume convention, so a script
	 * that keeps its own checkpoints sees wandb.run.resumed */
	if (h->resuming && !(add[na++] = strdup("WANDB_RESUME=allow")))
		goto oom;
	for (i = 0; i < extra; i++)
		if (!(add[na++] = strdup(p->env[i])))
			goto oom;
	envp = build_env(add);
	if (!envp)
		goto oom;

	/* start it */
	if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
	    pipe2(xp, O_CLOEXEC) < 0) {
		fail(res, 1, "cannot start '%s': %s", argv[0], strerror(errno));
		goto done;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	{
		pid_t parent = getpid();

		c.pid = fork();
		if (c.pid == 0) {
			struct sigaction dfl;
			int fd, sig, e;

			memset(&dfl, 0, sizeof(dfl));
			dfl.sa_handler = SIG_DFL;
			for (sig = 1; sig < NSIG; sig++)
				sigaction(sig, &dfl, NULL);
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(1);
			sigprocmask(SIG_SETMASK, &old, NULL);
			sigemptyset(&all);
			sigprocmask(SIG_SETMASK, &all, NULL);
			fd = open("/dev/null", O_RDONLY);
			if (fd >= 0 && fd != 0) {
				dup2(fd, 0);
				close(fd);
			}
			dup2(outp[1], 1);
			dup2(errp[1], 2);
			if (chdir(workdir) == 0)
				execve(exe, argv, envp);
			e = errno;
			if (write(xp[1], &e, sizeof(e)) < 0)
				_exit(127);
			_exit(127);
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (c.pid < 0) {
		fail(res, 1, "cannot start '%s': %s", argv[0], strerror(errno));
		goto done;
	}
	setpgid(c.pid, c.pid);          /* either side may win the race */
	close(outp[1]);
	close(errp[1]);
	close(xp[1]);
	outp[1] = errp[1] = xp[1] = -1;
	if (read(xp[0], &exec_errno, sizeof(exec_errno)) != (ssize_t)sizeof(exec_errno))
		exec_errno = 0;
	so.fd = outp[0];
	se.fd = errp[0];
	fcntl(so.fd, F_SETFL, O_NONBLOCK);
	fcntl(se.fd, F_SETFL, O_NONBLOCK);
	outp[0] = errp[0] = -1;
	sw_buf_init(&so.line, 0);
	sw_buf_init(&se.line, 0);
	sw_buf_init(&c.mline, 0);

	/* watch it */
	for (;;) {
		struct pollfd pf[2];
		nfds_t np = 0;
		double now;

		if (so.fd >= 0)
			pf[np++] = (struct pollfd){ so.fd, POLLIN, 0 };
		if (se.fd >= 0)
			pf[np++] = (struct pollfd){ se.fd, POLLIN, 0 };
		if (np && poll(pf, np, 50) > 0) {
			/* read a bounded amount, then look at the rest */
			for (i = 0; i < 16 && so.fd >= 0 && drain(&c, &so); i++)
				;
			for (i = 0; i < 16 && se.fd >= 0 && drain(&c, &se); i++)
				;
		} else if (!np) {
			usleep(50 * 1000);
		}
		poll_metrics(&c, 0);
		now = mono_now();
		if (!exited) {
			pid_t w = waitpid(c.pid, &status, WNOHANG);

			if (w == c.pid) {
				exited = 1;
				exit_at = now;
			}
		}
		if (!exited && stop_wanted(&c)) {
			if (c.term_at == 0) {
				c.term_at = now;
				kill(-c.pid, SIGTERM);
			} else if (!c.killed && now - c.term_at >= p->grace_s) {
				c.killed = 1;
				kill(-c.pid, SIGKILL);
			}
		}
		if (exited && ((so.fd < 0 && se.fd < 0) || now - exit_at > 2.0))
			break;
	}
	/* a child that ended before we signalled it ended by itself */
	poll_metrics(&c, 1);
	if (so.fd >= 0)
		close(so.fd);
	if (se.fd >= 0)
		close(se.fd);

	/* how it ended */
	res->epochs = c.epoch;
	if (exec_errno) {
		fail(res, 127, "cannot run '%s': %s", argv[0], strerror(exec_errno));
	} else if (c.term_at > 0) {
		res->status = SW_TRIAL_STOPPED;
		res->exit_code = 0;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		res->status = SW_TRIAL_FINISHED;
	} else {
		char what[96], tail[400];
		int len = 0, k;

		if (WIFSIGNALED(status)) {
			snprintf(what, sizeof(what), "killed by signal %d (%s)", WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
			res->exit_code = 128 + WTERMSIG(status);
		} else {
			snprintf(what, sizeof(what), "exited with code %d", WEXITSTATUS(status));
			res->exit_code = WEXITSTATUS(status);
		}
		tail[0] = '\0';
		for (k = c.n_tail > 3 ? c.n_tail - 3 : 0; k < c.n_tail && len < (int)sizeof(tail);
		     k++)
			len += snprintf(tail + len, sizeof(tail) - (size_t)len, "%s%s",
					len ? " | " : "", c.tail[k]);
		res->status = SW_TRIAL_FAILED;
		snprintf(res->reason, sizeof(res->reason), "'%s' %s%s%s",
			 p->program && sw_command_uses((const char *const *)p->command,
						       p->n_command, "program") ?
			 p->program : argv[0], what, tail[0] ? "; stderr: " : "", tail);
	}
	if (p->wandb_offline && !exec_errno)
		read_run_file(&c, wandb_dir, started, res);
	goto done;
oom:
	fail(res, 1, "out of memory starting the run");
done:
	if (c.pid > 0 && !exited) {
		kill(-c.pid, SIGKILL);
		waitpid(c.pid, &status, 0);
	}
	for (i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (xp[i] >= 0)
			close(xp[i]);
	}
	if (c.mfd >= 0)
		close(c.mfd);
	if (c.log)
		fclose(c.log);
	sw_buf_release(&so.line);
	sw_buf_release(&se.line);
	sw_buf_release(&c.mline);
	sw_argv_free(argv);
	sw_argv_free(add);
	free(envp);
	free(yaml);
	free(json);
	free(sweepdir);
	free(param_path);
	free(json_rel);
	free(mpath);
	free(logpath);
	free(wandb_dir);
	return 0;
}

static int process_run(const struct sw_trial_runner *r, const json_t *params,
		       uint64_t seed, const struct sw_trial_hooks *h,
		       struct sw_trial_result *res)
{
	return process_run_named(r, NULL, params, seed, h, res);
}

static int64_t process_planned_epochs(const struct sw_trial_runner *r,
				      const json_t *params)
{
	json_t *e = json_object_get(params, "epochs");

	(void)r;
	return json_is_integer(e) && json_integer_value(e) > 0 ? json_integer_value(e) : 0;
}

static void impl_free(struct process_impl *p)
{
	if (!p)
		return;
	free(p->program);
	sw_argv_free(p->command);
	free(p->sweep_id);
	free(p->workdir);
	free(p->runs_dir);
	free(p->interpreter);
	sw_argv_free(p->env);
	free(p->hook_dir);
	free(p);
}

static void process_release(struct sw_trial_runner *r)
{
	impl_free(r->impl);
	r->impl = NULL;
}

static double kill_delay(void)
{
	const char *s = getenv("WANDB_AGENT_KILL_DELAY");
	char *end;
	double v;

	if (!s || !*s)
		return 30;
	v = strtod(s, &end);
	return *end || !(v >= 0) ? 30 : v;
}

int sw_trial_runner_process(struct sw_trial_runner *r,
			    const struct sw_trial_process_config *cfg,
			    struct sw_err *err)
{
	struct process_impl *p;

	memset(r, 0, sizeof(*r));
	if (!cfg->program && !cfg->command)
		return sw_errorf(err, "a program trial needs the sweep's 'program' or "
				 "'command'");
	p = calloc(1, sizeof(*p));
	if (!p)
		return sw_errorf(err, "out of memory");
	p->n_command = cfg->n_command;
	p->grace_s = cfg->grace_s > 0 ? cfg->grace_s : kill_delay();
	p->out = cfg->out;
	p->quiet = cfg->quiet;
	p->wandb_offline = cfg->wandb_offline;
	if ((cfg->program && !(p->program = strdup(cfg->program))) ||
	    (cfg->command && !(p->command = strv_dup(cfg->command, cfg->n_command))) ||
	    !(p->sweep_id = strdup(cfg->sweep_id ? cfg->sweep_id : "local")) ||
	    (cfg->workdir && !(p->workdir = strdup(cfg->workdir))) ||
	    (cfg->runs_dir && !(p->runs_dir = strdup(cfg->runs_dir))) ||
	    !(p->interpreter = strdup(cfg->interpreter ? cfg->interpreter :
				      sw_trial_python())) ||
	    (cfg->env && !(p->env = strv_dup(cfg->env, strv_len(cfg->env)))) ||
	    (cfg->hook_dir && !(p->hook_dir = strdup(cfg->hook_dir)))) {
		impl_free(p);
		return sw_errorf(err, "out of memory");
	}
	if (p->wandb_offline && (!p->hook_dir || sw_wandb_hook_write(p->hook_dir, err) < 0)) {
		if (!p->hook_dir)
			sw_errorf(err, "wandb offline runs need a directory for their "
				  "start-up module");
		impl_free(p);
		return -1;
	}
	r->kind = "program";
	r->planned_epochs = process_planned_epochs;
	r->run = process_run;
	r->run_named = process_run_named;
	r->release = process_release;
	r->impl = p;
	r->threads = 1;
	return 0;
}

void sw_trial_runner_release(struct sw_trial_runner *r)
{
	if (r && r->release)
		r->release(r);
}

void sw_trial_result_release(struct sw_trial_result *res)
{
	if (!res)
		return;
	json_decref(res->wandb_history);
	json_decref(res->wandb_summary);
	json_decref(res->notes);
	res->wandb_history = res->wandb_summary = res->notes = NULL;
}

int sw_trial_run_named(const struct sw_trial_runner *r, const char *run_id,
		       const json_t *params, uint64_t seed,
		       const struct sw_trial_hooks *h, struct sw_trial_result *res)
{
	static const struct sw_trial_hooks none = { 0 };

	if (!r->run_named)
		return sw_trial_run(r, params, seed, h, res);
	memset(res, 0, sizeof(*res));
	res->status = SW_TRIAL_FINISHED;
	return r->run_named(r, run_id, params, seed, h ? h : &none, res);
}
