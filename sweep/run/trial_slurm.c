/* trial_slurm.c - every trial a Slurm batch job; see include/sweep/run/trial_slurm.h
 *
 * One controller thread per trial (as for the local runners) submits the
 * job, then polls: new lines of epochs.jsonl go to the hooks as they are
 * written, result.json says the trial ended, and `scontrol show job` (at
 * most once a second) says what Slurm did with the job.
 */
#define _GNU_SOURCE
#include "sweep/run/trial_slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "base/durable.h"
#include "base/file.h"
#include "base/interrupt.h"
#include "sweep/run/slurm.h"
#include "sweep/offline/wandb_runfile.h"

#define TMPFS_MAGIC_ 0x01021994

/* Jobs Slurm takes away (preempted, node failure, requeued) are submitted
 * again at most this many times per run; then the run fails saying so. */
#define MAX_RESUBMITS 3

struct slurm_impl {
	char *sweep_dir, *sweep_bin, *workdir;
	char *sbatch_text;           /* --sbatch as given, or NULL */
	char **sbatch;               /* --sbatch words, NULL-terminated */
	size_t n_sbatch;
	int threads;
	double grace_s, poll_s;
	const struct sw_trial_runner *local;
};

/* One trial's job and files; its handle (struct sw_trial) for the hooks. */
struct job {
	const struct slurm_impl *s;
	char run_id[72];
	char name[320];
	char id[32];                 /* Slurm job id; "" before submission */
	char *run_dir;
	int cancelled, killed;       /* scancel --signal=TERM --full / scancel sent */
	int resuming;                /* in flight before: the node continues it */
	int resumed;                 /* resume.json passed to on_resume */
	double cancel_t;
	int64_t epochs;
	off_t off;                   /* bytes of epochs.jsonl consumed */
	long long progress[2];       /* last (epoch, batch) passed on */
	const json_t *params;        /* what to train (borrowed), and its seed */
	uint64_t seed;
	int resubmits;               /* jobs submitted after Slurm took one */
	char gave_up[400];           /* "": no; else why no job follows */
};

struct sw_trial {
	struct job *j;
};

/* ==== Small helpers ==== */

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *run_file(const struct job *j, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", j->run_dir, name) < 0)
		return NULL;
	return p;
}

static int run_file_exists(const struct job *j, const char *name)
{
	char *p = run_file(j, name);
	struct stat sb;
	int ok = p && stat(p, &sb) == 0;

	free(p);
	return ok;
}

static void run_file_unlink(const struct job *j, const char *name)
{
	char *p = run_file(j, name);

	if (p)
		unlink(p);
	free(p);
}

void sw_slurm_job_name(char *out, size_t size, const char *sweep_dir,
		       const char *run_id)
{
	const char *base = strrchr(sweep_dir, '/');

	snprintf(out, size, "sweep-%s-%s", base ? base + 1 : sweep_dir, run_id);
}

/* ==== Files shared with `sweep trial` ==== */

char *sw_slurm_epoch_line(int64_t epoch, const struct sw_kv *m, size_t n)
{
	json_t *o = json_object();
	char *text = NULL, *line = NULL;
	size_t i;

	if (!o)
		return NULL;
	/* "_epoch": no metric starts with '_', and a script may log "epoch" */
	json_object_set_new(o, "_epoch", json_integer(epoch));
	for (i = 0; i < n; i++)
		json_object_set_new(o, m[i].name, sw_wandb_number_json(m[i].value));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	json_decref(o);
	return line;
}

long sw_slurm_epoch_parse(const char *line, int64_t *epoch, struct sw_kv **m,
			  json_t **obj)
{
	json_t *o = json_loads(line, 0, NULL), *v;
	const char *key, *epoch_key = "_epoch";
	struct sw_kv *kv;
	size_t n = 0;

	*m = NULL;
	*obj = NULL;
	/* "epoch": lines of the first version, whose metrics had no "epoch" */
	if (json_is_object(o) && !json_object_get(o, epoch_key))
		epoch_key = "epoch";
	if (!json_is_object(o) || !json_is_integer(json_object_get(o, epoch_key))) {
		json_decref(o);
		return -1;
	}
	*epoch = json_integer_value(json_object_get(o, epoch_key));
	kv = calloc(json_object_size(o) + 1, sizeof(*kv));
	if (!kv) {
		json_decref(o);
		return -1;
	}
	json_object_foreach(o, key, v) {
		if (!strcmp(key, epoch_key))
			continue;
		kv[n].name = key;
		if (sw_wandb_value_number(v, &kv[n].value))
			n++;
	}
	*m = kv;
	*obj = o;
	return (long)n;
}

static const char *status_name(enum sw_trial_status st)
{
	return st == SW_TRIAL_FINISHED ? "finished" :
	       st == SW_TRIAL_STOPPED ? "stopped" : "failed";
}

int sw_slurm_write_result(const char *run_dir, const struct sw_trial_result *res,
			  const char *signalled, struct sw_err *err)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:I}", "status", status_name(res->status),
			      "exit_code", res->exit_code, "reason", res->reason,
			      "epochs", (json_int_t)res->epochs);
	char *text = NULL, *path = NULL;
	int ret = -1;

	if (o && signalled)
		json_object_set_new(o, "signalled", json_string(signalled));
	/* a program's wandb run file, read on the node: the run's record */
	if (o && res->wandb_history)
		json_object_set(o, "wandb_history", res->wandb_history);
	if (o && res->wandb_summary)
		json_object_set(o, "wandb_summary", res->wandb_summary);
	if (o && res->warning[0])
		json_object_set_new(o, "warning", json_string(res->warning));
	if (!o || !(text = json_dumps(o, JSON_COMPACT)) ||
	    asprintf(&path, "%s/result.json", run_dir) < 0) {
		path = NULL;
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = sw_durable_replace(NULL, path, text, strlen(text), err);
done:
	json_decref(o);
	free(text);
	free(path);
	return ret;
}

/* result.json as read back: status, exit code, reason, signalled. */
struct node_result {
	int present;
	enum sw_trial_status status;
	int exit_code;
	char reason[512];
	char signalled[16];
	json_t *wandb_history, *wandb_summary;  /* owned; NULL: none */
	char warning[512];
};

static void read_result(const struct job *j, struct node_result *nr)
{
	char *p = run_file(j, "result.json");
	json_t *o = p ? json_load_file(p, 0, NULL) : NULL;
	const char *st = json_string_value(json_object_get(o, "status"));

	memset(nr, 0, sizeof(*nr));
	free(p);
	if (!st) {
		json_decref(o);
		return;
	}
	nr->present = 1;
	nr->status = !strcmp(st, "finished") ? SW_TRIAL_FINISHED :
		     !strcmp(st, "stopped") ? SW_TRIAL_STOPPED : SW_TRIAL_FAILED;
	nr->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
	snprintf(nr->reason, sizeof(nr->reason), "%s",
		 json_string_value(json_object_get(o, "reason")) ?
		 json_string_value(json_object_get(o, "reason")) : "");
	snprintf(nr->signalled, sizeof(nr->signalled), "%s",
		 json_string_value(json_object_get(o, "signalled")) ?
		 json_string_value(json_object_get(o, "signalled")) : "");
	snprintf(nr->warning, sizeof(nr->warning), "%s",
		 json_string_value(json_object_get(o, "warning")) ?
		 json_string_value(json_object_get(o, "warning")) : "");
	if (json_is_array(json_object_get(o, "wandb_history")))
		nr->wandb_history = json_incref(json_object_get(o, "wandb_history"));
	if (json_is_object(json_object_get(o, "wandb_summary")))
		nr->wandb_summary = json_incref(json_object_get(o, "wandb_summary"));
	json_decref(o);
}

static void release_result(struct node_result *nr)
{
	json_decref(nr->wandb_history);
	json_decref(nr->wandb_summary);
	memset(nr, 0, sizeof(*nr));
}

/* ==== Submitting ==== */

/* Writes trial.json and job.sh for the run. */
static int write_job_files(struct job *j, const json_t *params, uint64_t seed,
			   struct sw_err *err)
{
	const struct slurm_impl *s = j->s;
	json_t *o = json_pack("{s:O, s:I, s:i, s:b}", "params", params,
			      "seed", (json_int_t)seed, "threads", s->threads,
			      "resuming", j->resuming);
	char *text = NULL, *path = NULL, *script = NULL;
	char *q_bin = sw_slurm_shell_quote(s->sweep_bin);
	char *q_dir = sw_slurm_shell_quote(s->sweep_dir);
	char *q_id = sw_slurm_shell_quote(j->run_id);
	char *q_run = sw_slurm_shell_quote(j->run_dir);
	int ret = -1;

	if (!o || !q_bin || !q_dir || !q_id || !q_run ||
	    !(text = json_dumps(o, JSON_COMPACT)) || !(path = run_file(j, "trial.json")))
		goto oom;
	if (sw_durable_replace(NULL, path, text, strlen(text), err) < 0)
		goto done;
	/* exec: Slurm's signals reach `sweep trial` itself */
	if (asprintf(&script,
		     "#!/bin/sh\n"
		     "# run %s of sweep %s, written by `sweep run --launcher slurm`\n"
		     "SWEEP=%s\n"
		     "if [ ! -x \"$SWEEP\" ]; then\n"
		     "\techo \"sweep: error: the sweep binary '$SWEEP' is not reachable on "
		     "node $(hostname)\" >&2\n"
		     "\thostname > %s/unreachable-binary\n"
		     "\texit 127\n"
		     "fi\n"
		     "exec \"$SWEEP\" trial %s %s\n",
		     j->run_id, s->sweep_dir, q_bin, q_run, q_dir, q_id) < 0) {
		script = NULL;
		goto oom;
	}
	free(path);
	if (!(path = run_file(j, "job.sh")))
		goto oom;
	ret = sw_durable_replace(NULL, path, script, strlen(script), err);
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	json_decref(o);
	free(text);
	free(path);
	free(script);
	free(q_bin);
	free(q_dir);
	free(q_id);
	free(q_run);
	return ret;
}

/* The job id sbatch --parsable printed ("42" or "42;cluster"), maybe after
 * warnings: the last line's leading digits. */
static int parse_job_id(const char *out, char *id, size_t size)
{
	const char *last = strrchr(out, '\n');
	size_t len;

	last = last ? last + 1 : out;
	len = strspn(last, "0123456789_");
	if (len == 0 || len >= size)
		return -1;
	memcpy(id, last, len);
	id[len] = '\0';
	return 0;
}

/* The argv of sbatch for this runner: the user's words, our options, then
 * extra (NULL-terminated) at the end. A new array of borrowed and owned
 * strings: free the owned ones listed in owned[0..2]. */
static const char **sbatch_argv(const struct slurm_impl *s, const char *name,
				const char *out_path, const char *const *extra,
				char *owned[3])
{
	size_t n = 0, i, n_extra = 0;
	const char **argv;

	while (extra && extra[n_extra])
		n_extra++;
	argv = calloc(8 + s->n_sbatch + n_extra, sizeof(*argv));
	owned[0] = owned[1] = owned[2] = NULL;
	if (!argv || asprintf(&owned[0], "--job-name=%s", name) < 0 ||
	    asprintf(&owned[1], "--cpus-per-task=%d", s->threads) < 0 ||
	    asprintf(&owned[2], "--chdir=%s", s->workdir ? s->workdir : s->sweep_dir) < 0) {
		free(argv);
		return NULL;
	}
	/* the user's words first: sbatch takes the last of an option, and
	 * the job's name, output, directory and CPUs are sweep's */
	argv[n++] = "sbatch";
	for (i = 0; i < s->n_sbatch; i++)
		argv[n++] = s->sbatch[i];
	argv[n++] = "--parsable";
	argv[n++] = owned[0];
	argv[n++] = owned[1];
	argv[n++] = owned[2];
	if (out_path)
		argv[n++] = out_path;
	for (i = 0; i < n_extra; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	return argv;
}

/* Submits the run's job; records it in slurm.jsonl, with "after": the
 * state of the job Slurm took away when this one replaces it (else NULL). */
static int submit(struct job *j, const json_t *params, uint64_t seed,
		  const char *after, struct sw_err *err)
{
	static const char *const stale[] = { "epochs.jsonl", "result.json", "node.json",
					     "slurm.out", "unreachable-binary", "progress",
					     "resume.json", "cancelled" };
	char *owned[3], *out_opt = NULL, *script = NULL, *out = NULL, *line = NULL;
	char *log = NULL;
	const char *extra[2] = { NULL, NULL };
	const char **argv = NULL;
	int status, ret = -1;
	size_t i;

	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++)
		run_file_unlink(j, stale[i]);
	j->off = 0;
	if (write_job_files(j, params, seed, err) < 0)
		return -1;
	if (asprintf(&out_opt, "--output=%s/slurm.out", j->run_dir) < 0) {
		out_opt = NULL;
		goto oom;
	}
	if (!(script = run_file(j, "job.sh")))
		goto oom;
	extra[0] = script;
	argv = sbatch_argv(j->s, j->name, out_opt, extra, owned);
	if (!argv)
		goto oom;
	if (sw_slurm_exec(argv, &out, &status, err) < 0) {
		if (status == 127)
			sw_errorf(err, "sbatch not found on PATH: --launcher slurm needs "
				  "Slurm's commands where sweep runs (a login node)");
		goto done;
	}
	if (status != 0 || parse_job_id(out, j->id, sizeof(j->id)) < 0) {
		sw_errorf(err, "sbatch refused the job: %s", out[0] ? out : "no message");
		goto done;
	}
	if (asprintf(&line, "{\"job_id\":\"%s\",\"job_name\":\"%s\",\"time\":%.3f%s%s%s}\n",
		     j->id, j->name, (double)time(NULL), after ? ",\"after\":\"" : "",
		     after ? after : "", after ? "\"" : "") < 0) {
		line = NULL;
		goto oom;
	}
	if (!(log = run_file(j, "slurm.jsonl")))
		goto oom;
	ret = sw_durable_append(NULL, -1, log, line, strlen(line), err);
	goto done;
oom:
	sw_errorf(err, "out of memory");
done:
	if (argv) {
		free(owned[0]);
		free(owned[1]);
		free(owned[2]);
	}
	free(argv);
	free(out_opt);
	free(script);
	free(out);
	free(line);
	free(log);
	return ret;
}

/* ==== Re-attaching after a crash ==== */

/* The last job id recorded in slurm.jsonl for this job name, into j->id. */
static int recorded_job(struct job *j)
{
	char *path = run_file(j, "slurm.jsonl");
	json_t *lines = NULL, *last;
	int found = 0;

	if (path && sw_jsonl_load(path, 1, &lines, NULL, NULL) == 0) {
		last = json_array_get(lines, json_array_size(lines) - 1);
		if (json_is_string(json_object_get(last, "job_id")) &&
		    !strcmp(json_string_value(json_object_get(last, "job_name")) ?
			    json_string_value(json_object_get(last, "job_name")) : "",
			    j->name)) {
			snprintf(j->id, sizeof(j->id), "%s",
				 json_string_value(json_object_get(last, "job_id")));
			found = 1;
		}
	}
	json_decref(lines);
	free(path);
	return found;
}

/* How many jobs of slurm.jsonl replaced one Slurm took away ("after"):
 * the cap on resubmissions holds across controller restarts. */
static int recorded_resubmits(const struct job *j)
{
	char *path = run_file(j, "slurm.jsonl");
	json_t *lines = NULL, *line;
	size_t i;
	int n = 0;

	if (path && sw_jsonl_load(path, 1, &lines, NULL, NULL) == 0)
		json_array_foreach(lines, i, line)
			n += json_object_get(line, "after") != NULL;
	json_decref(lines);
	free(path);
	return n;
}

/* Notes in runs/<id>/cancelled that we cancelled job j->id ourselves. */
static void mark_cancelled(const struct job *j)
{
	char *path = run_file(j, "cancelled");
	struct sw_err err = SW_ERR_INIT;

	if (path)
		sw_durable_replace(NULL, path, j->id, strlen(j->id), &err);
	free(path);
}

/* Whether runs/<id>/cancelled names the recorded job j->id. */
static int cancelled_by_us(const struct job *j)
{
	char *path = run_file(j, "cancelled"), *data = NULL;
	struct sw_err err = SW_ERR_INIT;
	size_t len = 0;
	int yes;

	yes = path && sw_read_file(path, 64, &data, &len, NULL, &err) == 0 && data &&
	      len == strlen(j->id) && !memcmp(data, j->id, len);
	free(data);
	free(path);
	return yes;
}

static void scancel(struct job *j, int term_first);

/* A job of ours that was cancelled but may still be ending (a program
 * finishing after its TERM): killed, and waited for (up to 30 s), so two
 * jobs never train the same run. */
static void make_sure_gone(struct job *j)
{
	struct sw_slurm_job sj;
	struct sw_err err = SW_ERR_INIT;
	int i;

	for (i = 0; i < 300; i++) {
		if (sw_slurm_job_query(j->id, &sj, &err) != 1 || strcmp(sj.name, j->name) ||
		    sw_slurm_state_terminal(sj.state))
			return;
		if (i == 0)
			scancel(j, 0);
		sleep_s(0.1);
	}
}

/* Whether the run already has a job to follow: one Slurm still has under
 * the recorded id and our name, one of our name in the queue (submitted
 * just before a crash, before it was recorded), or one that ended and left
 * its result. Sets j->id then. */
static int existing_job(struct job *j)
{
	struct sw_slurm_job sj;
	struct sw_err err = SW_ERR_INIT;
	int recorded = recorded_job(j);

	if (recorded && cancelled_by_us(j)) {
		/* we stopped it (Ctrl-C) and the run stayed in flight: not
		 * someone else's cancel; a new job continues it */
		make_sure_gone(j);
		j->id[0] = '\0';
		return 0;
	}
	if (recorded && sw_slurm_job_query(j->id, &sj, &err) == 1 &&
	    !strcmp(sj.name, j->name))
		return 1;
	if (sw_slurm_find_by_name(j->name, j->id, sizeof(j->id), &err) == 1)
		return 1;
	if (recorded && run_file_exists(j, "result.json"))
		return 1;
	j->id[0] = '\0';
	return 0;
}

/* ==== Following a job ==== */

/* A job that continues an in-flight run: once the node has said where it
 * continues (runs/<id>/resume.json, written before its first new epoch),
 * on_resume gets the checkpoint's history, as for a local run. */
static void read_resume(struct job *j, const struct sw_trial_hooks *h)
{
	char *path;
	json_t *o;
	struct sw_trial handle = { j };

	if (j->resumed || !(path = run_file(j, "resume.json")))
		return;
	o = json_load_file(path, 0, NULL);
	free(path);
	if (!json_is_object(o)) {
		json_decref(o);
		return;         /* not there (yet) */
	}
	j->resumed = 1;
	j->epochs = json_integer_value(json_object_get(o, "epochs"));
	if (h->on_resume)
		h->on_resume(h->ctx, &handle, j->epochs, json_object_get(o, "rows"),
			     json_string_value(json_object_get(o, "why_not")));
	json_decref(o);
}

/* An alert line of epochs.jsonl (a wandb script's wandb.alert on the node,
 * in order with the epochs) to on_alert. */
static void read_alert(const char *line, const struct sw_trial_hooks *h)
{
	json_t *o = json_loads(line, 0, NULL), *a = json_object_get(o, "_alert");

	if (json_is_object(a) && h->on_alert)
		h->on_alert(h->ctx, json_integer_value(json_object_get(a, "epoch")),
			    json_string_value(json_object_get(a, "title")) ?
			    json_string_value(json_object_get(a, "title")) : "",
			    json_string_value(json_object_get(a, "text")) ?
			    json_string_value(json_object_get(a, "text")) : "",
			    json_string_value(json_object_get(a, "level")) ?
			    json_string_value(json_object_get(a, "level")) : "INFO");
	json_decref(o);
}

/* Passes the complete new lines of epochs.jsonl to the hooks. Returns 1
 * when on_epoch asked to stop. */
static int read_epochs(struct job *j, const struct sw_trial_hooks *h)
{
	char *path = run_file(j, "epochs.jsonl"), *buf = NULL, *line, *nl;
	struct stat sb;
	int fd = -1, stop = 0;
	ssize_t got;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size <= j->off)
		goto done;
	buf = malloc((size_t)(sb.st_size - j->off) + 1);
	if (!buf)
		goto done;
	got = pread(fd, buf, (size_t)(sb.st_size - j->off), j->off);
	if (got <= 0)
		goto done;
	buf[got] = '\0';
	/* the node wrote resume.json before these lines: take it first */
	read_resume(j, h);
	/* a partial last line waits for its newline */
	for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		struct sw_kv *kv = NULL;
		json_t *obj = NULL;
		int64_t epoch;
		long n;

		*nl = '\0';
		j->off += nl + 1 - line;
		n = sw_slurm_epoch_parse(line, &epoch, &kv, &obj);
		if (n < 0)
			read_alert(line, h);
		if (n >= 0) {
			struct sw_trial handle = { j };

			j->epochs = epoch;
			if (h->on_epoch && h->on_epoch(h->ctx, &handle, epoch, kv, (size_t)n))
				stop = 1;
		}
		free(kv);
		json_decref(obj);
	}
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return stop;
}

/* Passes a new in-epoch position from runs/<id>/progress to on_batch. */
static void read_progress(struct job *j, const struct sw_trial_hooks *h)
{
	char *path, buf[64];
	long long e, b, n;
	ssize_t got;
	int fd;

	if (!h->on_batch || !(path = run_file(j, "progress")))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	got = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (got <= 0)
		return;
	buf[got] = '\0';
	if (sscanf(buf, "%lld %lld %lld", &e, &b, &n) != 3 ||
	    (e == j->progress[0] && b == j->progress[1]))
		return;
	j->progress[0] = e;
	j->progress[1] = b;
	h->on_batch(h->ctx, e, b, n);
}

static void scancel(struct job *j, int term_first)
{
	const char *term[] = { "scancel", "--signal=TERM", "--full", j->id, NULL };
	const char *kill[] = { "scancel", j->id, NULL };
	struct sw_err err = SW_ERR_INIT;
	char *out = NULL;
	int status;

	sw_slurm_exec(term_first ? term : kill, &out, &status, &err);
	free(out);
}

/* The last non-empty line of slurm.out (for reasons), into out. */
static void output_tail(const struct job *j, char *out, size_t size)
{
	char *path = run_file(j, "slurm.out"), buf[4097], *end, *start;
	struct stat sb;
	ssize_t got = 0;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	out[0] = '\0';
	free(path);
	if (fd < 0)
		return;
	if (fstat(fd, &sb) == 0)
		got = pread(fd, buf, sizeof(buf) - 1,
			    sb.st_size > 4096 ? sb.st_size - 4096 : 0);
	close(fd);
	if (got <= 0)
		return;
	end = buf + got;
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	*end = '\0';
	start = strrchr(buf, '\n');
	snprintf(out, size, "%.*s", (int)size - 1, start ? start + 1 : buf);
}

/* How the run ended, from what Slurm says (sj, known when slurm_known),
 * what the trial wrote, and whether we cancelled it. */
static void outcome(const struct job *j, int slurm_known,
		    const struct sw_slurm_job *sj, const struct node_result *nr,
		    struct sw_trial_result *res)
{
	const char *failure = slurm_known ? sw_slurm_state_failure(sj->state) : NULL;
	char tail[300], host[128] = "";

	res->epochs = j->epochs;
	if (j->gave_up[0]) {
		res->status = SW_TRIAL_FAILED;
		res->exit_code = nr->present && nr->exit_code ? nr->exit_code : 1;
		snprintf(res->reason, sizeof(res->reason), "%s", j->gave_up);
		return;
	}
	if (j->cancelled) {
		/* a trial that finished before the signal keeps its outcome */
		res->status = nr->present && nr->status == SW_TRIAL_FINISHED ?
			      SW_TRIAL_FINISHED : SW_TRIAL_STOPPED;
		return;
	}
	if (nr->present && nr->status == SW_TRIAL_FINISHED) {
		res->status = SW_TRIAL_FINISHED;
		return;
	}
	res->status = SW_TRIAL_FAILED;
	res->exit_code = nr->present && nr->exit_code ? nr->exit_code :
			 slurm_known && sj->exit_code ? sj->exit_code : 1;
	if (failure) {
		snprintf(res->reason, sizeof(res->reason), "Slurm job %s %s (%s)%s%.300s",
			 j->id, failure, sj->state, nr->present && nr->reason[0] ? ": " : "",
			 nr->present ? nr->reason : "");
		return;
	}
	if (nr->present && nr->status == SW_TRIAL_FAILED) {
		snprintf(res->reason, sizeof(res->reason), "%.500s", nr->reason);
		return;
	}
	if (nr->present) {
		snprintf(res->reason, sizeof(res->reason), "Slurm job %s: the trial got "
			 "SIG%s from outside sweep and stopped", j->id,
			 nr->signalled[0] ? nr->signalled : "TERM");
		return;
	}
	if (run_file_exists(j, "unreachable-binary")) {
		char *p = run_file(j, "unreachable-binary"), *data = NULL;
		struct sw_err err = SW_ERR_INIT;
		size_t len = 0;

		if (p && sw_read_file(p, 4096, &data, &len, NULL, &err) == 0 && data)
			snprintf(host, sizeof(host), "%.*s", (int)strcspn(data, "\n"), data);
		free(data);
		free(p);
		snprintf(res->reason, sizeof(res->reason), "the sweep binary '%.200s' is not "
			 "reachable on node %.100s: install sweep where the compute nodes see "
			 "it (a shared filesystem, same path) or set SWEEP_SLURM_BIN",
			 j->s->sweep_bin, host[0] ? host : "?");
		res->exit_code = 127;
		return;
	}
	if (!run_file_exists(j, "node.json")) {
		snprintf(res->reason, sizeof(res->reason), "Slurm job %s ended (%s) before "
			 "sweep started on its node: the compute nodes may not see the "
			 "results directory '%.200s'; put it on a filesystem they share "
			 "(sweep run --results /shared/DIR)", j->id,
			 slurm_known ? sj->state : "gone", j->s->sweep_dir);
		return;
	}
	output_tail(j, tail, sizeof(tail));
	snprintf(res->reason, sizeof(res->reason), "Slurm job %s ended (%s, exit code "
		 "%d) without a result%s%s", j->id, slurm_known ? sj->state : "gone",
		 slurm_known ? sj->exit_code : -1, tail[0] ? ": " : "", tail);
}

/* Slurm took j's job away from a trial that did nothing wrong (sj: its
 * last state): the job is made sure gone (a requeued one would start the
 * trial over), and, under the cap, a new job continues the run from its
 * checkpoint, as `sweep resume` does; the hooks hear of it first. Returns
 * 1 when a new job follows, 0 when the run ends (j->gave_up says why). */
static int resubmit(struct job *j, const struct sw_slurm_job *sj,
		    const struct sw_trial_hooks *h)
{
	struct sw_err err = SW_ERR_INIT;
	char old[32], state[32], line[600];

	read_epochs(j, h);          /* what the job said before it went */
	snprintf(old, sizeof(old), "%s", j->id);
	snprintf(state, sizeof(state), "%s", sj->restarts > 0 &&
		 strncmp(sj->state, "REQUEUE", 7) ? "REQUEUED" : sj->state);
	if (!sw_slurm_state_terminal(sj->state)) {
		mark_cancelled(j);       /* ours: a resume after a crash knows */
		make_sure_gone(j);
	}
	if (j->resubmits >= MAX_RESUBMITS) {
		snprintf(j->gave_up, sizeof(j->gave_up), "Slurm job %s %s (%s), and the "
			 "run was submitted again %d times already: not again", old,
			 sw_slurm_taken_why(sj), state, MAX_RESUBMITS);
		return 0;
	}
	j->resuming = 1;
	j->resumed = 0;
	j->cancelled = j->killed = 0;
	if (submit(j, j->params, j->seed, state, &err) < 0) {
		snprintf(j->gave_up, sizeof(j->gave_up), "Slurm job %s %s (%s); submitting "
			 "it again failed: %.100s", old, sw_slurm_taken_why(sj), state, err.msg);
		return 0;
	}
	j->resubmits++;
	snprintf(line, sizeof(line), "sweep: run %s: Slurm job %s %s (%s) after epoch "
		 "%lld: submitted again as job %s (%d of at most %d), to continue from "
		 "its checkpoint", j->run_id, old, sw_slurm_taken_why(sj), state,
		 (long long)j->epochs, j->id, j->resubmits, MAX_RESUBMITS);
	j->epochs = 0;
	if (h->on_restart)
		h->on_restart(h->ctx, line);
	return 1;
}

/* Follows j until it ends; fills res. */
static void watch(struct job *j, const struct sw_trial_hooks *h,
		  struct sw_trial_result *res)
{
	const struct slurm_impl *s = j->s;
	struct sw_slurm_job sj;
	struct node_result nr;
	struct sw_err err = SW_ERR_INIT;
	double last_q = -1e9, result_t = 0, ended_t = 0, t;
	int want_stop = 0, known = 0, q;

	memset(&sj, 0, sizeof(sj));
	memset(&nr, 0, sizeof(nr));
	for (;;) {
		read_resume(j, h);
		if (read_epochs(j, h))
			want_stop = 1;
		read_progress(j, h);
		if (h->stop && atomic_load(h->stop))
			want_stop = 1;
		t = now_mono();
		if (!nr.present) {
			read_result(j, &nr);
			if (nr.present)
				result_t = t;
		}
		if (t - last_q >= 1.0 || nr.present || (want_stop && !j->cancelled)) {
			q = sw_slurm_job_query(j->id, &sj, &err);
			last_q = t;
			if (q >= 0)
				known = q == 1 && !strcmp(sj.name, j->name);
		} else {
			q = -2;         /* not asked this time */
		}
		/* Ctrl-C: runs end after their epoch; one still queued has none */
		if (*sw_interrupt_flag() && q >= 0 && known && !strcmp(sj.state, "PENDING"))
			want_stop = 1;
		/* Slurm took the job away (preempted, node failure, requeued):
		 * unless the trial finished, a new job goes on from the
		 * checkpoint */
		if (q >= 0 && known && !j->cancelled &&
		    !(nr.present && nr.status == SW_TRIAL_FINISHED) &&
		    sw_slurm_job_fate(&sj) == SW_SLURM_TAKEN) {
			if (want_stop || *sw_interrupt_flag()) {
				/* it stops anyway: a stop, or after Ctrl-C a run
				 * left in flight that resume continues */
				mark_cancelled(j);
				if (!sw_slurm_state_terminal(sj.state))
					scancel(j, 0);
				j->cancelled = j->killed = 1;
				j->cancel_t = t;
				continue;
			}
			if (!resubmit(j, &sj, h))
				break;
			release_result(&nr);
			memset(&sj, 0, sizeof(sj));
			known = 0;
			result_t = ended_t = 0;
			last_q = -1e9;
			continue;
		}
		if (want_stop && !j->cancelled && !nr.present) {
			/* TERM to a pending job would wait for it to start */
			mark_cancelled(j);
			scancel(j, !(known && !strcmp(sj.state, "PENDING")));
			j->cancelled = 1;
			j->cancel_t = t;
		}
		if (j->cancelled && !j->killed && t - j->cancel_t >= s->grace_s) {
			scancel(j, 0);
			j->killed = 1;
		}
		if (nr.present && (nr.status != SW_TRIAL_STOPPED || j->cancelled ||
				   (known && sw_slurm_state_terminal(sj.state)) ||
				   t - result_t > 10))
			break;          /* a stop we did not ask for: wait for why */
		if (q >= 0 && (!known || sw_slurm_state_terminal(sj.state))) {
			/* ended: the result file may lag on a shared filesystem */
			if (!ended_t)
				ended_t = t;
			if (t - ended_t > 3 || (j->cancelled && !run_file_exists(j, "node.json")))
				break;  /* cancelled before it started: nothing to wait for */
		}
		sleep_s(s->poll_s);
	}
	read_resume(j, h);
	read_epochs(j, h);
	outcome(j, known, &sj, &nr, res);
	res->wandb_history = nr.wandb_history;     /* the result owns them now */
	res->wandb_summary = nr.wandb_summary;
	snprintf(res->warning, sizeof(res->warning), "%s", nr.warning);
}

/* ==== The runner ==== */

static int slurm_run_named(const struct sw_trial_runner *r, const char *run_id,
			   const json_t *params, uint64_t seed,
			   const struct sw_trial_hooks *h, struct sw_trial_result *res)
{
	struct job j;
	struct sw_err err = SW_ERR_INIT;

	memset(&j, 0, sizeof(j));
	j.s = r->impl;
	j.resuming = h->resuming;
	snprintf(j.run_id, sizeof(j.run_id), "%s", run_id);
	sw_slurm_job_name(j.name, sizeof(j.name), j.s->sweep_dir, run_id);
	if (asprintf(&j.run_dir, "%s/runs/%s", j.s->sweep_dir, run_id) < 0)
		return -1;
	j.params = params;
	j.seed = seed;
	j.resubmits = recorded_resubmits(&j);
	if (sw_mkdir_p(j.run_dir, &err) < 0 ||
	    (!existing_job(&j) && submit(&j, params, seed, NULL, &err) < 0)) {
		res->status = SW_TRIAL_FAILED;
		res->exit_code = 1;
		snprintf(res->reason, sizeof(res->reason), "%s", err.msg);
		free(j.run_dir);
		return 0;
	}
	watch(&j, h, res);
	/* the last job's id: the one that ran the run to its end */
	res->notes = j.resubmits ? json_pack("{s:s, s:i}", "slurm_job_id", j.id,
					     "slurm_resubmits", j.resubmits) :
		     json_pack("{s:s}", "slurm_job_id", j.id);
	free(j.run_dir);
	return 0;
}

static int slurm_run(const struct sw_trial_runner *r, const json_t *params,
		     uint64_t seed, const struct sw_trial_hooks *h,
		     struct sw_trial_result *res)
{
	char id[9];

	sw_store_run_id(id, seed, 0);
	return slurm_run_named(r, id, params, seed, h, res);
}

/* The model the node kept for the run's best epoch (runs/<id>/model.safetensors)
 * at path: a hard link (the node replaces its file, never rewrites it), or a
 * copy where links do not work. */
static int slurm_save_model(struct sw_trial *t, const char *path, struct sw_err *err)
{
	char *src = run_file(t->j, "model.safetensors"), *data = NULL;
	size_t len = 0;
	int ret;

	if (!src)
		return sw_errorf(err, "out of memory");
	if (link(src, path) == 0) {
		free(src);
		return 0;
	}
	ret = sw_read_file(src, 0, &data, &len, NULL, err);
	if (ret == 0)
		ret = sw_durable_replace(NULL, path, data, len, err);
	free(data);
	free(src);
	return ret;
}

static int64_t slurm_planned_epochs(const struct sw_trial_runner *r,
				    const json_t *params)
{
	const struct slurm_impl *s = r->impl;

	return s->local && s->local->planned_epochs ?
	       s->local->planned_epochs(s->local, params) : 0;
}

static void slurm_release(struct sw_trial_runner *r)
{
	struct slurm_impl *s = r->impl;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_sbatch; i++)
		free(s->sbatch[i]);
	free(s->sbatch);
	free(s->sbatch_text);
	free(s->sweep_dir);
	free(s->sweep_bin);
	free(s->workdir);
	free(s);
	r->impl = NULL;
}

int sw_trial_runner_slurm(struct sw_trial_runner *r,
			  const struct sw_slurm_config *cfg, struct sw_err *err)
{
	struct slurm_impl *s = calloc(1, sizeof(*s));
	const char *bin = cfg->sweep_bin ? cfg->sweep_bin : getenv("SWEEP_SLURM_BIN");
	const char *delay = getenv("WANDB_AGENT_KILL_DELAY");

	memset(r, 0, sizeof(*r));
	if (!s)
		return sw_errorf(err, "out of memory");
	r->impl = s;
	r->release = slurm_release;
	s->sbatch = sw_slurm_split_args(cfg->sbatch_args ? cfg->sbatch_args : "",
					&s->n_sbatch, err);
	if (!s->sbatch) {
		slurm_release(r);
		return -1;
	}
	s->sbatch_text = cfg->sbatch_args ? strdup(cfg->sbatch_args) : NULL;
	s->sweep_dir = realpath(cfg->sweep_dir, NULL);
	s->sweep_bin = bin && *bin ? strdup(bin) : realpath("/proc/self/exe", NULL);
	s->workdir = cfg->workdir ? strdup(cfg->workdir) : NULL;
	if (!s->sweep_dir || !s->sweep_bin || (cfg->workdir && !s->workdir) ||
	    (cfg->sbatch_args && !s->sbatch_text)) {
		slurm_release(r);
		return sw_errorf(err, "cannot set up Slurm jobs for '%s': %s",
				 cfg->sweep_dir, strerror(errno));
	}
	s->threads = cfg->threads > 0 ? cfg->threads : 1;
	s->grace_s = cfg->grace_s > 0 ? cfg->grace_s :
		     delay && atof(delay) > 0 ? atof(delay) : 30;
	s->poll_s = cfg->poll_s > 0 ? cfg->poll_s : 0.1;
	s->local = cfg->local;
	r->kind = "slurm";
	r->planned_epochs = slurm_planned_epochs;
	r->run = slurm_run;
	r->run_named = slurm_run_named;
	r->threads = s->threads;
	if (cfg->local && cfg->local->save_model)
		r->save_model = slurm_save_model;
	return 0;
}

/* ==== Before the sweep ==== */

int sw_slurm_preflight(const struct sw_trial_runner *r, FILE *warn,
		       struct sw_err *err)
{
	const struct slurm_impl *s = r->impl;
	const char *extra[] = { "--test-only", "--wrap=true", NULL };
	const char **argv;
	char *owned[3], *out = NULL;
	struct statfs fs;
	int status, ret = -1;

	argv = sbatch_argv(s, "sweep-preflight", NULL, extra, owned);
	if (!argv)
		return sw_errorf(err, "out of memory");
	if (sw_slurm_exec(argv, &out, &status, err) < 0) {
		if (status == 127)
			sw_errorf(err, "sbatch not found on PATH: --launcher slurm needs "
				  "Slurm's commands (sbatch, squeue, scontrol, scancel) where "
				  "sweep runs, e.g. a cluster's login node");
		goto done;
	}
	if (status != 0) {
		char *nl;

		/* one line: sbatch's own lines joined */
		while ((nl = strrchr(out, '\n')) && !nl[1])
			*nl = '\0';
		for (nl = out; (nl = strchr(nl, '\n')); )
			*nl = ' ';
		sw_errorf(err, "sbatch refused a test submission (check --sbatch and "
			  "--threads, and that Slurm answers here: sinfo): %s",
			  out[0] ? out : "no message");
		goto done;
	}
	if (warn && (strncmp(s->sweep_dir, "/tmp/", 5) == 0 ||
		     (statfs(s->sweep_dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_)))
		fprintf(warn, "sweep: warning: results directory '%s' is on this "
			"machine's local storage: compute nodes other than this one will "
			"not see it (pass --results DIR on a filesystem they share)\n",
			s->sweep_dir);
	ret = 0;
done:
	free(owned[0]);
	free(owned[1]);
	free(owned[2]);
	free(argv);
	free(out);
	return ret;
}

int sw_slurm_runner_start(struct sw_trial_runner *r, const struct sw_slurm_config *cfg,
			  int check)
{
	struct sw_err err = SW_ERR_INIT;

	if (sw_trial_runner_slurm(r, cfg, &err) < 0 ||
	    (check && sw_slurm_preflight(r, stderr, &err) < 0)) {
		fprintf(stderr, "sweep: error: %s\n", err.msg);
		sw_trial_runner_release(r);
		return -1;
	}
	return 0;
}

void sw_slurm_print_start(FILE *out, const char *name, int resuming, int parallel,
			  uint64_t seed, const struct sw_trial_runner *r)
{
	const struct slurm_impl *s = r->impl;

	fprintf(out, "sweep: %s %s on Slurm: up to %d job%s at once (--parallel), "
		"%d CPU%s each (--threads)", resuming ? "resuming" : "running", name,
		parallel, parallel == 1 ? "" : "s", s->threads, s->threads == 1 ? "" : "s");
	if (s->n_sbatch)
		fprintf(out, ", sbatch '%s'", s->sbatch_text);
	fprintf(out, ", seed %llu, results in %s\n", (unsigned long long)seed,
		s->sweep_dir);
}
