/* progress.c - the console view of `sweep run`; see include/sweep/run/progress.h */
#define _GNU_SOURCE
#include "sweep/run/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct sw_progress_trial {
	struct sw_progress_trial *next;
	char id[65];
	int64_t epochs, batches;    /* planned */
	int64_t epoch, batch;       /* current position (epoch 1-based) */
	int64_t last_batch;         /* highest batch seen in this epoch */
	double t0, t_epoch;         /* run start, current epoch's start */
	int has_value;              /* current value of the sweep metric */
	double value;
	int has_best;
	double best;
};

#define BAR_WIDTH 20

static double real_clock(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(struct sw_progress *p)
{
	return p->cfg.clock(p->cfg.clock_ctx);
}

char *sw_format_duration(char *out, size_t size, double s)
{
	if (!(s >= 0) || s > 1e9)
		snprintf(out, size, "?");
	else if (s < 60)
		snprintf(out, size, "%.1fs", s);
	else if (s < 3600)
		snprintf(out, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
	else
		snprintf(out, size, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	return out;
}

char *sw_format_params(const json_t *params)
{
	const char *key;
	json_t *v;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int first = 1;

	if (!f)
		return NULL;
	json_object_foreach((json_t *)params, key, v) {
		fprintf(f, "%s%s=", first ? "" : " ", key);
		first = 0;
		if (json_is_string(v)) {
			fputs(json_string_value(v), f);
		} else if (json_is_real(v)) {
			fprintf(f, "%.6g", json_real_value(v));
		} else {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			fputs(s ? s : "?", f);
			free(s);
		}
	}
	fclose(f);
	return out;
}

/* Metrics as "k=v k2=v2". */
static void format_metrics(char *out, size_t size, const struct sw_kv *m, size_t n)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < n && used < size; i++) {
		int w = snprintf(out + used, size - used, "%s%s=%.6g", i ? " " : "",
				 m[i].name, m[i].value);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int sw_progress_init(struct sw_progress *p, const struct sw_progress_config *cfg,
		     struct sw_err *err)
{
	struct sw_progress_config def = SW_PROGRESS_CONFIG_INIT;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg ? *cfg : def;
	if (!p->cfg.out)
		p->cfg.out = stderr;
	if (!p->cfg.clock)
		p->cfg.clock = real_clock;
	if (p->cfg.min_interval_s <= 0)
		p->cfg.min_interval_s = 0.1;
	p->live = p->cfg.tty < 0 ? isatty(fileno(p->cfg.out)) : p->cfg.tty;
	if (!p->cfg.width) {
		struct winsize ws;

		p->cfg.width = 80;
		if (p->live && !ioctl(fileno(p->cfg.out), TIOCGWINSZ, &ws) && ws.ws_col > 10)
			p->cfg.width = ws.ws_col;
	}
	if (p->cfg.width < 20)
		p->cfg.width = 20;
	if (p->cfg.metric) {
		p->metric = strdup(p->cfg.metric);
		if (!p->metric)
			return sw_errorf(err, "out of memory");
	}
	p->cfg.metric = p->metric;
	if (pthread_mutex_init(&p->lock, NULL)) {
		free(p->metric);
		p->metric = NULL;
		return sw_errorf(err, "cannot create a mutex");
	}
	p->lock_ok = 1;
	p->last_draw = -1e9;
	return 0;
}

/* ==== Live block ==== */

/* Writes one line cut to width - 1 columns, clearing the rest. */
static void put_line(struct sw_progress *p, const char *s)
{
	int max = p->cfg.width - 1;

	fprintf(p->cfg.out, "\r%.*s\x1b[K\n", max, s);
}

static void erase_block(struct sw_progress *p)
{
	if (p->drawn > 0)
		fprintf(p->cfg.out, "\x1b[%dA", p->drawn);
	fputs("\r\x1b[J", p->cfg.out);
	p->drawn = 0;
}

static void draw(struct sw_progress *p)
{
	struct sw_progress_trial *t;
	char line[512], best[160], dur[32];
	int64_t running = 0;
	int lines = 0;

	for (t = p->trials; t; t = t->next)
		running++;
	best[0] = '\0';
	if (p->has_best)
		snprintf(best, sizeof(best), " | best %s %.6g (%s)", p->metric, p->best,
			 p->best_id);
	snprintf(line, sizeof(line),
		 "%lld running, %lld finished, %lld failed, %lld stopped, %lld killed%s",
		 (long long)running, (long long)p->ended[SW_RUN_FINISHED],
		 (long long)p->ended[SW_RUN_FAILED], (long long)p->ended[SW_RUN_STOPPED],
		 (long long)p->ended[SW_RUN_KILLED], best);
	if (p->drawn > 0)
		fprintf(p->cfg.out, "\x1b[%dA", p->drawn);
	put_line(p, line);
	lines++;
	for (t = p->trials; t; t = t->next) {
		char bar[BAR_WIDTH + 1], value[128], pos[64];
		double f = 0, el = now(p) - t->t0;
		int i, fill;

		if (t->epochs > 0) {
			double done = (double)(t->epoch > 0 ? t->epoch - 1 : 0);

			if (t->batches > 0)
				done += (double)t->batch / (double)t->batches;
			f = done / (double)t->epochs;
		}
		if (f < 0)
			f = 0;
		if (f > 1)
			f = 1;
		fill = (int)(f * BAR_WIDTH + 0.5);
		for (i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[BAR_WIDTH] = '\0';
		if (f > 0 && t->batches > 0) {
			sw_format_duration(dur, sizeof(dur), el * (1 - f) / f);
		} else if (f > 0) {
			/* no batch positions: whole epochs at their mean duration,
			 * less the time already spent in the current one */
			double done = (double)(t->epoch - 1), since = now(p) - t->t_epoch;
			double eta = (t->t_epoch - t->t0) / done * ((double)t->epochs - done);

			sw_format_duration(dur, sizeof(dur), eta > since ? eta - since : 0);
		} else {
			snprintf(dur, sizeof(dur), "?");
		}
		if (t->batches > 0)
			snprintf(pos, sizeof(pos), "ep %lld/%lld b %lld/%lld",
				 (long long)t->epoch, (long long)t->epochs,
				 (long long)t->batch, (long long)t->batches);
		else
			snprintf(pos, sizeof(pos), "ep %lld/%lld", (long long)t->epoch,
				 (long long)t->epochs);
		value[0] = '\0';
		if (t->has_value && p->metric)
			snprintf(value, sizeof(value), " %s %.6g", p->metric, t->value);
		snprintf(line, sizeof(line), "%s [%s] %s ETA %s%s", t->id, bar, pos, dur,
			 value);
		put_line(p, line);
		lines++;
	}
	if (lines < p->drawn)
		fputs("\x1b[J", p->cfg.out);
	p->drawn = lines;
	p->last_draw = now(p);
	fflush(p->cfg.out);
}

/* Prints a line: above the live block, or plainly. Lock held. */
static void log_locked(struct sw_progress *p, const char *line)
{
	if (p->live) {
		erase_block(p);
		fprintf(p->cfg.out, "%s\n", line);
		draw(p);
	} else {
		fprintf(p->cfg.out, "%s\n", line);
		fflush(p->cfg.out);
	}
}

void sw_progress_release(struct sw_progress *p)
{
	struct sw_progress_trial *t, *next;

	if (!p || !p->lock_ok)
		return;
	if (p->live && p->drawn) {
		erase_block(p);
		fflush(p->cfg.out);
	}
	for (t = p->trials; t; t = next) {
		next = t->next;
		free(t);
	}
	p->trials = NULL;
	pthread_mutex_destroy(&p->lock);
	p->lock_ok = 0;
	free(p->metric);
	p->metric = NULL;
}

static struct sw_progress_trial *find(struct sw_progress *p, const char *id)
{
	struct sw_progress_trial *t;

	for (t = p->trials; t; t = t->next)
		if (!strcmp(t->id, id))
			return t;
	return NULL;
}

void sw_progress_run_start(struct sw_progress *p, const char *id,
			   const json_t *params, int64_t epochs, int64_t batches)
{
	struct sw_progress_trial *t, **pp;

	pthread_mutex_lock(&p->lock);
	t = find(p, id);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			goto done;
		for (pp = &p->trials; *pp; pp = &(*pp)->next)
			;
		*pp = t;
	}
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->epochs = epochs;
	t->batches = batches;
	t->epoch = 1;
	t->batch = 0;
	t->last_batch = 0;
	t->t0 = now(p);
	t->t_epoch = t->t0;
	if (p->live) {
		draw(p);
	} else {
		char *ps = sw_format_params(params);

		fprintf(p->cfg.out, "run %s started%s%s\n", id, ps && *ps ? ": " : "",
			ps ? ps : "");
		fflush(p->cfg.out);
		free(ps);
	}
done:
	pthread_mutex_unlock(&p->lock);
}

void sw_progress_batch(struct sw_progress *p, const char *id, int64_t epoch,
		       int64_t batch, int64_t n_batches)
{
	struct sw_progress_trial *t;

	pthread_mutex_lock(&p->lock);
	t = find(p, id);
	if (t) {
		if (n_batches > 0)
			t->batches = n_batches;
		t->epoch = epoch;
		t->batch = batch;
		if (batch > t->last_batch)
			t->last_batch = batch;
		if (p->live && now(p) - p->last_draw >= p->cfg.min_interval_s)
			draw(p);
	}
	pthread_mutex_unlock(&p->lock);
}

void sw_progress_epoch(struct sw_progress *p, const char *id, int64_t epoch,
		       const struct sw_kv *m, size_t n)
{
	struct sw_progress_trial *t;
	size_t i;

	pthread_mutex_lock(&p->lock);
	t = find(p, id);
	if (!t)
		goto done;
	/* batches per epoch not given at the start: the first epoch tells */
	if (t->batches <= 0 && t->last_batch > 0)
		t->batches = t->last_batch;
	t->last_batch = 0;
	t->t_epoch = now(p);
	t->epoch = epoch + 1 <= t->epochs ? epoch + 1 : epoch;
	t->batch = epoch + 1 <= t->epochs ? 0 : t->batches;
	for (i = 0; p->metric && i < n; i++) {
		if (strcmp(m[i].name, p->metric))
			continue;
		t->has_value = 1;
		t->value = m[i].value;
		if (!isfinite(m[i].value))
			break;
		if (!t->has_best || (p->cfg.maximize ? m[i].value > t->best
						     : m[i].value < t->best)) {
			t->has_best = 1;
			t->best = m[i].value;
		}
		if (!p->has_best || (p->cfg.maximize ? m[i].value > p->best
						     : m[i].value < p->best)) {
			p->has_best = 1;
			p->best = m[i].value;
			snprintf(p->best_id, sizeof(p->best_id), "%s", id);
		}
	}
	if (p->live) {
		draw(p);
	} else {
		char ms[1024], dur[32];

		format_metrics(ms, sizeof(ms), m, n);
		fprintf(p->cfg.out, "run %s epoch %lld/%lld: %s (%s)\n", id, (long long)epoch,
			(long long)t->epochs, ms,
			sw_format_duration(dur, sizeof(dur), now(p) - t->t0));
		fflush(p->cfg.out);
	}
done:
	pthread_mutex_unlock(&p->lock);
}

void sw_progress_run_end(struct sw_progress *p, const char *id,
			 enum sw_run_state state, const char *reason,
			 int64_t epochs, double runtime_s)
{
	struct sw_progress_trial *t = NULL, **pp;
	char line[1024], dur[32], tail[512];

	pthread_mutex_lock(&p->lock);
	for (pp = &p->trials; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->id, id)) {
			t = *pp;
			*pp = t->next;
			break;
		}
	}
	if ((unsigned)state < 4)
		p->ended[state]++;
	tail[0] = '\0';
	if (state == SW_RUN_FAILED)
		snprintf(tail, sizeof(tail), ": %s", reason && *reason ? reason
							       : "no reason given");
	else if (t && t->has_best)
		snprintf(tail, sizeof(tail), ", best %s=%.6g", p->metric, t->best);
	/* say why a run ended early: hyperband, an alert rule or Ctrl-C */
	if ((state == SW_RUN_STOPPED || state == SW_RUN_KILLED) && reason && *reason) {
		size_t used = strlen(tail);

		snprintf(tail + used, sizeof(tail) - used, " (%s)", reason);
	}
	snprintf(line, sizeof(line), "run %s %s: %lld epoch%s in %s%s", id,
		 sw_run_state_name(state), (long long)epochs, epochs == 1 ? "" : "s",
		 sw_format_duration(dur, sizeof(dur), runtime_s), tail);
	log_locked(p, line);
	pthread_mutex_unlock(&p->lock);
	free(t);
}

void sw_progress_log(struct sw_progress *p, const char *line)
{
	if (!p->lock_ok) {
		/* released or zeroed: a late message (e.g. the alert sender's
		 * while it drains) still gets its line */
		fprintf(p->cfg.out ? p->cfg.out : stderr, "%s\n", line);
		fflush(p->cfg.out ? p->cfg.out : stderr);
		return;
	}
	pthread_mutex_lock(&p->lock);
	log_locked(p, line);
	pthread_mutex_unlock(&p->lock);
}

void sw_progress_console(void *progress, const char *line)
{
	sw_progress_log(progress, line);
}

/* ==== Final summary ==== */

void sw_progress_summary(FILE *out, const json_t *runs, const char *metric,
			 int maximize, int top, const char *dir)
{
	json_t *sorted = json_copy((json_t *)runs);
	size_t n = json_array_size(runs), i, shown;
	int mw = metric ? (int)strlen(metric) : 5;
	const json_t *best = NULL;
	double bv = 0;

	if (mw < 5)
		mw = 5;
	if (!sorted)
		return;
	sw_runs_sort(sorted, metric, maximize);
	shown = top > 0 && (size_t)top < n ? (size_t)top : n;
	if (n == 0) {
		fputs("no runs were recorded\n", out);
	} else {
		if (metric)
			fprintf(out, "top %zu of %zu run%s by %s (%s):\n", shown, n,
				n == 1 ? "" : "s", metric, maximize ? "maximize" : "minimize");
		else
			fprintf(out, "%zu of %zu run%s (no metric):\n", shown, n,
				n == 1 ? "" : "s");
		fprintf(out, "  %-4s  %-8s  %-8s  %-*s  %-6s  %-7s  %s\n", "rank", "run",
			"state", mw, metric ? metric : "value", "epochs", "runtime", "params");
		for (i = 0; i < shown; i++) {
			const json_t *r = json_array_get(sorted, i);
			char val[32], dur[32], *ps;
			double v;

			if (!sw_run_best_value(r, metric, &v)) {
				snprintf(val, sizeof(val), "%.6g", v);
				if (!best) {
					best = r;
					bv = v;
				}
			} else {
				snprintf(val, sizeof(val), "-");
			}
			ps = sw_format_params(json_object_get(r, "params"));
			fprintf(out, "  %-4zu  %-8s  %-8s  %-*s  %-6lld  %-7s  %s\n", i + 1,
				json_string_value(json_object_get(r, "id")),
				json_string_value(json_object_get(r, "state")), mw, val,
				(long long)json_integer_value(json_object_get(r, "epochs")),
				sw_format_duration(dur, sizeof(dur),
						   json_number_value(json_object_get(r, "runtime_s"))),
				ps ? ps : "");
			free(ps);
		}
		if (best) {
			const char *key;
			json_t *v;

			fprintf(out, "best configuration (run %s, %s %.6g):\n",
				json_string_value(json_object_get(best, "id")), metric, bv);
			json_object_foreach(json_object_get(best, "params"), key, v) {
				char *s = json_is_string(v) ? strdup(json_string_value(v))
							    : json_dumps(v, JSON_COMPACT |
									    JSON_ENCODE_ANY);

				if (json_is_real(v)) {
					free(s);
					s = NULL;
					if (asprintf(&s, "%.6g", json_real_value(v)) < 0)
						s = NULL;
				}
				fprintf(out, "  %s: %s\n", key, s ? s : "?");
				free(s);
			}
		} else if (metric) {
			fprintf(out, "no run logged %s\n", metric);
		}
	}
	if (dir)
		fprintf(out, "results: %s\n", dir);
	fflush(out);
	json_decref(sorted);
}
