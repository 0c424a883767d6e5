/* test_run_checkpoint_cli.c - crash-safe runs end to end: `sweep run`
 * SIGKILLed at random moments (loading, mid-epoch, during a checkpoint's
 * write, recording) and `sweep resume`d each time ends with the same
 * metrics, bit for bit, and the same weights (the kept checkpoints) as the
 * sweep never interrupted; every epoch is recorded once, and a resumed run
 * retrains at most the epoch that was in progress. Also: Ctrl-C leaves the
 * running runs in flight and resume continues them, checkpoints are
 * deleted when runs end, and a torn checkpoint means a warning naming it
 * and a retrain from the start. Tiny generated data only. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/cifar_fake.h"
#include "support/support.h"
#include "base/rng.h"

#define RECORDS 200     /* per file: 1,000 training and 200 test images */
#define EPOCHS 5
#define RUNS 4

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SAN 1
#else
#define UNDER_SAN 0
#endif

static char *tmp, *data, *yaml;
static char env_home[4200];
static const char *env[] = {
	"SWEEP_TEST_CIFAR_RECORDS=200", "SWEEP_CIFAR_URL=http://127.0.0.1:9/none.tar.gz",
	"SWEEP_DATA=", "SWEEP_ALERT_WEBHOOK=", env_home, NULL
};

static const char sweep_yaml[] =
	"method: grid\n"
	"metric: {name: val_loss, goal: minimize}\n"
	"parameters:\n"
	"  learning_rate: {values: [0.002, 0.004, 0.006, 0.008]}\n"
	"  batch_size: {value: 32}\n"
	"  epochs: {value: 5}\n"
	"  image_size: {value: 16}\n"
	"  conv1_filters: {value: 16}\n"
	"  conv2_filters: {value: 32}\n"
	"  dense_units: {value: 16}\n"
	"  augment: {value: flip_crop}\n"
	"  dropout: {value: 0.2}\n"
	"  precise_bn: {value: true}\n";

/* ==== Helpers ==== */

static int setup(void **state)
{
	(void)state;
	tmp = sw_test_tmpdir();
	if (!tmp)
		return -1;
	snprintf(env_home, sizeof(env_home), "HOME=%s", tmp);
	data = sw_test_strf("%s/data", tmp);
	yaml = sw_test_strf("%s/grid.yaml", tmp);
	if (mkdir(data, 0755) < 0 || sw_test_cifar_write(data, RECORDS) < 0 ||
	    sw_test_write_file(yaml, sweep_yaml, strlen(sweep_yaml)) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(tmp);
	free(tmp);
	free(data);
	free(yaml);
	return 0;
}

/* Runs the binary with args (NULL-terminated) for at most seconds. */
static void sweep_for(struct sw_test_proc *p, double seconds, const char *const *args)
{
	const char *argv[24];
	int n = 0;

	argv[n++] = sw_test_bin();
	while (*args && n < 23)
		argv[n++] = *args++;
	argv[n] = NULL;
	assert_int_equal(sw_test_run_for(p, argv, NULL, env, seconds), 0);
}

/* The one sweep directory under root (caller frees), or NULL. */
static char *sweep_dir(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char *found = NULL;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			assert_null(found);
			found = sw_test_strf("%s/%s", root, e->d_name);
		}
	if (d)
		closedir(d);
	return found;
}

static json_t *load_jsonl(const char *path)
{
	char *text = sw_test_read_file(path, NULL), *line, *save = NULL;
	json_t *arr = json_array();

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *v = json_loads(line, 0, NULL);

		if (v)
			json_array_append_new(arr, v);
	}
	free(text);
	return arr;
}

/* runs.jsonl by id. */
static json_t *runs_by_id(const char *dir)
{
	char *p = sw_test_strf("%s/runs.jsonl", dir);
	json_t *arr = load_jsonl(p), *by = json_object(), *r;
	size_t i;

	json_array_foreach(arr, i, r) {
		const char *id = json_string_value(json_object_get(r, "id"));

		if (json_object_get(by, id))
			fail_msg("run %s recorded twice", id);
		json_object_set(by, id, r);
	}
	json_decref(arr);
	free(p);
	return by;
}

/* The trainer's bytes of a checkpoint (RNG, weights, statistics,
 * optimizer), without the header's wall times and history. */
static char *state_bytes(const char *path, size_t *n)
{
	size_t len = 0;
	char *buf = sw_test_read_file(path, &len), *out;
	uint32_t jlen;

	assert_non_null(buf);
	assert_true(len > 16);
	memcpy(&jlen, buf + 12, 4);
	assert_true(16 + (size_t)jlen + 16 < len);
	*n = len - 16 - jlen - 16;
	out = malloc(*n);
	assert_non_null(out);
	memcpy(out, buf + 16 + jlen, *n);
	free(buf);
	return out;
}

/* The crashed sweep ended like the reference: same runs, every epoch once
 * with the same metrics, the same final state. */
static void compare_sweeps(const char *ref, const char *got)
{
	static const char *const keys[] = { "loss", "accuracy", "val_loss",
					    "val_accuracy", "learning_rate", NULL };
	json_t *a = runs_by_id(ref), *b = runs_by_id(got), *r;
	const char *id;

	assert_int_equal(json_object_size(a), RUNS);
	assert_int_equal(json_object_size(b), RUNS);
	json_object_foreach(a, id, r) {
		json_t *q = json_object_get(b, id), *ha, *hb;
		char *pa = sw_test_strf("%s/runs/%s/history.jsonl", ref, id);
		char *pb = sw_test_strf("%s/runs/%s/history.jsonl", got, id);
		char *ca = sw_test_strf("%s/runs/%s/checkpoint.bin", ref, id);
		char *cb = sw_test_strf("%s/runs/%s/checkpoint.bin", got, id);
		char *sa, *sb;
		size_t i, na, nb;

		assert_non_null(q);
		assert_string_equal(json_string_value(json_object_get(q, "state")), "finished");
		assert_int_equal(json_integer_value(json_object_get(q, "epochs")), EPOCHS);
		ha = load_jsonl(pa);
		hb = load_jsonl(pb);
		assert_int_equal(json_array_size(ha), EPOCHS);
		if (json_array_size(hb) != EPOCHS)
			fail_msg("run %s: %zu history rows", id, json_array_size(hb));
		for (i = 0; i < EPOCHS; i++) {
			json_t *x = json_array_get(ha, i), *y = json_array_get(hb, i);

			/* every epoch once, in order */
			assert_int_equal(json_integer_value(json_object_get(y, "_step")), (int)i);
			assert_int_equal(json_integer_value(json_object_get(y, "epoch")), (int)i + 1);
			for (int k = 0; keys[k]; k++)
				if (!json_equal(json_object_get(x, keys[k]), json_object_get(y, keys[k])))
					fail_msg("run %s epoch %zu: %s %.17g != %.17g", id, i + 1,
						 keys[k],
						 json_number_value(json_object_get(x, keys[k])),
						 json_number_value(json_object_get(y, keys[k])));
		}
		/* the same weights, statistics, optimizer state and RNG */
		sa = state_bytes(ca, &na);
		sb = state_bytes(cb, &nb);
		assert_int_equal(na, nb);
		if (memcmp(sa, sb, na))
			fail_msg("run %s: the final state differs", id);
		free(sa);
		free(sb);
		json_decref(ha);
		json_decref(hb);
		free(pa);
		free(pb);
		free(ca);
		free(cb);
	}
	json_decref(a);
	json_decref(b);
}

/* The highest epoch each run reported in stderr text, into by_run (keeps
 * the maximum over calls). */
static void note_epochs(const char *text, json_t *by_run)
{
	const char *p = text;
	char id[16];
	int e, m;

	while ((p = strstr(p, "run "))) {
		if (sscanf(p, "run %15s epoch %d/%d:", id, &e, &m) == 3 &&
		    e > json_integer_value(json_object_get(by_run, id)))
			json_object_set_new(by_run, id, json_integer(e));
		p += 4;
	}
}

/* For every run a resume continued (or retrained from the start), the
 * epochs it trains again: the highest it had reported minus where it goes
 * on. Fails when a run goes back more than the epoch in progress at the
 * kill (whose checkpoint may not have landed). */
static int epochs_lost(const char *text, json_t *reported)
{
	const char *line = text;
	char id[16];
	long long n;
	int lost = 0;

	for (; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		json_int_t before;

		if (sscanf(line, "sweep: run %15s continues after epoch %lld", id, &n) == 2)
			;
		else if (sscanf(line, "sweep: warning: run %15[^:]", id) == 1 &&
			 strstr(line, "training it from the start") &&
			 strstr(line, "training it from the start") < strchr(line, '\n'))
			n = 0;
		else
			continue;
		before = json_integer_value(json_object_get(reported, id));
		if (before > n + 1)
			fail_msg("run %s continues after epoch %lld but had reported "
				 "epoch %lld", id, n, (long long)before);
		if (before > n)
			lost += (int)(before - n);
	}
	return lost;
}

/* ==== Tests ==== */

static void test_sigkill_many_times_bit_identical(void **state)
{
	char *ref_root = sw_test_strf("%s/ref", tmp), *root = sw_test_strf("%s/crash", tmp);
	char *ref, *dir = NULL;
	const char *ref_args[] = { "run", yaml, "--data", data, "--results", ref_root,
				   "--seed", "5", "--parallel", "2", "--threads", "1",
				   "--keep-checkpoints", NULL };
	const char *run_args[] = { "run", yaml, "--data", data, "--results", root,
				   "--seed", "5", "--parallel", "2", "--threads", "1",
				   "--keep-checkpoints", NULL };
	json_t *reported = json_object();
	struct sw_test_proc p;
	struct sw_rng rng;
	int round, rounds = UNDER_SAN ? 6 : 14, kills = 0, lost = 0, resumed = 0;
	int finished;
	double t0, full;

	(void)state;
	t0 = sw_test_now();
	sweep_for(&p, 300, ref_args);
	full = sw_test_now() - t0;
	if (p.status != 0)
		fail_msg("reference sweep: exit %d\n%s", p.status, p.err);
	sw_test_proc_release(&p);
	ref = sweep_dir(ref_root);
	assert_non_null(ref);

	sw_rng_seed(&rng, (uint64_t)time(NULL), 15);
	for (round = 0; round <= rounds; round++) {
		const char *resume_args[] = { "resume", dir, NULL };
		/* first: once the sweep directory is there; then anywhere in
		 * what is left; last: to the end */
		double at = round == 0 ? 0.4 * full : round < rounds ?
			    full * (0.05 + 0.25 * sw_rng_double(&rng)) : 300;

		sweep_for(&p, at, round == 0 ? run_args : resume_args);
		if (p.status != 0 && p.status != 128 + SIGKILL)
			fail_msg("round %d: exit %d\n%s", round, p.status, p.err);
		if (!dir)
			dir = sweep_dir(root);
		assert_non_null(dir);
		lost += epochs_lost(p.err, reported);
		resumed += sw_test_count_lines(p.err, "from its checkpoint");
		note_epochs(p.err, reported);
		kills += p.status == 128 + SIGKILL;
		finished = p.status == 0;
		sw_test_proc_release(&p);
		if (finished)
			break;          /* finished before the kill */
	}
	printf("  %d SIGKILLs, %d runs continued from a checkpoint, %d epochs "
	       "trained twice (a %.1f s sweep)\n", kills, resumed, lost, full);
	assert_true(kills >= 1);
	assert_true(resumed >= 1);
	/* at most the epoch in progress, per run in flight, per kill */
	assert_true(lost <= 2 * kills);
	compare_sweeps(ref, dir);
	json_decref(reported);
	free(ref);
	free(dir);
	free(ref_root);
	free(root);
}

static void test_ctrl_c_continues_and_checkpoints_go(void **state)
{
	char *root = sw_test_strf("%s/ctrlc", tmp), *dir, *p, *text, *line, id[16];
	const char *args[] = { "run", yaml, "--data", data, "--results", root,
			       "--seed", "5", "--parallel", "1", "--threads", "1", NULL };
	json_t *runs, *seen;
	int last;
	struct sw_test_proc pr;
	pid_t pid;
	int n = 0, status;

	(void)state;
	/* Ctrl-C after the first run's second epoch */
	p = sw_test_strf("%s/ctrlc.err", tmp);
	pid = sw_test_spawn_files(args, env, NULL, "/dev/null", p);
	for (int i = 0; i < 6000; i++) {
		text = sw_test_read_file(p, NULL);
		n = text && strstr(text, "epoch 2/5") != NULL;
		free(text);
		if (n)
			break;
		usleep(10000);
	}
	assert_true(n);
	kill(pid, SIGINT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 130);
	text = sw_test_read_file(p, NULL);
	assert_non_null(strstr(text, "sweep resume continues it"));
	assert_int_equal(sscanf(strstr(text, "run "), "run %15s", id), 1);
	seen = json_object();
	note_epochs(text, seen);
	last = (int)json_integer_value(json_object_get(seen, id));
	assert_true(last >= 2 && last < EPOCHS);
	json_decref(seen);
	free(text);
	free(p);
	dir = sweep_dir(root);
	runs = runs_by_id(dir);
	/* not recorded: still in flight, with its checkpoint */
	assert_int_equal(json_object_size(runs), 0);
	json_decref(runs);

	sweep_for(&pr, 300, (const char *[]){ "resume", dir, NULL });
	if (pr.status != 0)
		fail_msg("resume: exit %d\n%s", pr.status, pr.err);
	assert_int_equal(sw_test_count_lines(pr.err, "continues after epoch"), 1);
	/* the interrupted run goes on right after the epoch it ended with */
	line = sw_test_strf("sweep: run %s continues after epoch %d from its checkpoint",
		     id, last);
	if (!strstr(pr.err, line))
		fail_msg("no '%s' in:\n%s", line, pr.err);
	free(line);
	line = sw_test_strf("run %s epoch %d/5", id, last);
	assert_null(strstr(pr.err, line));
	free(line);
	sw_test_proc_release(&pr);
	runs = runs_by_id(dir);
	assert_int_equal(json_object_size(runs), RUNS);
	{
		const char *rid;
		json_t *r;

		json_object_foreach(runs, rid, r) {
			char *c = sw_test_strf("%s/runs/%s/checkpoint.bin", dir, rid);

			assert_string_equal(json_string_value(json_object_get(r, "state")),
					    "finished");
			assert_int_equal(json_integer_value(json_object_get(r, "epochs")),
					 EPOCHS);
			/* deleted once the run is recorded */
			assert_int_not_equal(access(c, F_OK), 0);
			free(c);
		}
	}
	json_decref(runs);
	free(dir);
	free(root);
}

static void test_torn_checkpoint_retrains_with_warning(void **state)
{
	char *root = sw_test_strf("%s/torn", tmp), *dir = NULL, *ck = NULL;
	const char *args[] = { "run", yaml, "--data", data, "--results", root,
			       "--seed", "5", "--parallel", "1", "--threads", "1", NULL };
	struct sw_test_proc p;
	DIR *d;
	struct dirent *e;
	char *runs_dir;

	(void)state;
	/* kill until a checkpoint exists */
	for (double at = 0.5; !ck && at < 60; at *= 1.5) {
		sw_test_rmtree(root);
		sweep_for(&p, at, args);
		sw_test_proc_release(&p);
		dir = sweep_dir(root);
		runs_dir = dir ? sw_test_strf("%s/runs", dir) : NULL;
		d = runs_dir ? opendir(runs_dir) : NULL;
		while (d && (e = readdir(d)) && !ck) {
			char *c = sw_test_strf("%s/%s/checkpoint.bin", runs_dir, e->d_name);

			if (e->d_name[0] != '.' && access(c, F_OK) == 0)
				ck = c;
			else
				free(c);
		}
		if (d)
			closedir(d);
		free(runs_dir);
		if (!ck) {
			free(dir);
			dir = NULL;
		}
	}
	assert_non_null(ck);
	assert_int_equal(truncate(ck, 1000), 0);
	sweep_for(&p, 300, (const char *[]){ "resume", dir, NULL });
	if (p.status != 0)
		fail_msg("resume: exit %d\n%s", p.status, p.err);
	assert_non_null(strstr(p.err, "warning: run "));
	assert_non_null(strstr(p.err, "checkpoint.bin' is torn"));
	assert_non_null(strstr(p.err, "training it from the start"));
	sw_test_proc_release(&p);
	free(ck);
	free(dir);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigkill_many_times_bit_identical),
		cmocka_unit_test(test_ctrl_c_continues_and_checkpoints_go),
		cmocka_unit_test(test_torn_checkpoint_retrains_with_warning),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
