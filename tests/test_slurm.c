/* test_slurm.c - the parts of the Slurm launcher that need no cluster:
 * --sbatch word splitting, `scontrol show job -o` parsing, Slurm's states,
 * shell quoting of the batch script, the epochs.jsonl line format, job
 * names, and running a command that is not there. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sweep/run/slurm.h"
#include "sweep/run/trial_slurm.h"

static void free_words(char **w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

static void test_split_args(void **state)
{
	struct sw_err err = SW_ERR_INIT;
	size_t n = 99;
	char **w;

	(void)state;
	w = sw_slurm_split_args("  --partition=gpu   --time=2:00:00\t--mem 8G ", &n, &err);
	assert_non_null(w);
	assert_int_equal(n, 4);
	assert_string_equal(w[0], "--partition=gpu");
	assert_string_equal(w[1], "--time=2:00:00");
	assert_string_equal(w[2], "--mem");
	assert_string_equal(w[3], "8G");
	assert_null(w[4]);
	free_words(w, n);

	w = sw_slurm_split_args("--comment='a b' --x=\"c \\\"d\\\"\" e\\ f", &n, &err);
	assert_non_null(w);
	assert_int_equal(n, 3);
	assert_string_equal(w[0], "--comment=a b");
	assert_string_equal(w[1], "--x=c \"d\"");
	assert_string_equal(w[2], "e f");
	free_words(w, n);

	w = sw_slurm_split_args("", &n, &err);
	assert_non_null(w);
	assert_int_equal(n, 0);
	assert_null(w[0]);
	free_words(w, n);

	w = sw_slurm_split_args("--comment='open", &n, &err);
	assert_null(w);
	assert_non_null(strstr(err.msg, "unclosed ' quote"));
}

static void test_job_parse(void **state)
{
	struct sw_slurm_job j;

	(void)state;
	assert_int_equal(sw_slurm_job_parse(
		"JobId=812 JobName=sweep-cifar-20261204-abc UserId=alice(1000) "
		"JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:15 "
		"RunTime=00:01:02", &j), 0);
	assert_string_equal(j.id, "812");
	assert_string_equal(j.name, "sweep-cifar-20261204-abc");
	assert_string_equal(j.state, "TIMEOUT");
	assert_string_equal(j.reason, "TimeLimit");
	assert_int_equal(j.exit_code, 128 + 15);

	assert_int_equal(sw_slurm_job_parse("JobId=9 JobName=x JobState=FAILED "
					    "Reason=NonZeroExitCode ExitCode=3:0", &j), 0);
	assert_int_equal(j.exit_code, 3);
	/* a key inside another key's name is not that key */
	assert_int_equal(sw_slurm_job_parse("JobId=9 ArrayJobName=y JobName=x", &j), 0);
	assert_string_equal(j.name, "x");
	assert_int_equal(sw_slurm_job_parse("slurm_load_jobs error: Invalid job id", &j), -1);
}

static void test_states(void **state)
{
	(void)state;
	assert_true(sw_slurm_state_terminal("COMPLETED"));
	assert_true(sw_slurm_state_terminal("TIMEOUT"));
	assert_true(sw_slurm_state_terminal("OUT_OF_MEMORY"));
	assert_false(sw_slurm_state_terminal("RUNNING"));
	assert_false(sw_slurm_state_terminal("PENDING"));
	assert_false(sw_slurm_state_terminal("COMPLETING"));
	assert_string_equal(sw_slurm_state_failure("TIMEOUT"), "reached its time limit");
	assert_string_equal(sw_slurm_state_failure("OUT_OF_MEMORY"), "ran out of memory");
	assert_string_equal(sw_slurm_state_failure("NODE_FAIL"), "failed with its node");
	assert_non_null(strstr(sw_slurm_state_failure("CANCELLED"), "someone else"));
	assert_null(sw_slurm_state_failure("COMPLETED"));
	assert_null(sw_slurm_state_failure("FAILED"));
}

/* The fate of a job from `scontrol show job -o` lines: what Slurm took away
 * (preempted, node failure, requeued) is resubmitted; the trial's own ends
 * (time limit, memory, failure, cancel) are not. */
static void test_job_fate(void **state)
{
	static const struct {
		const char *line;
		enum sw_slurm_fate fate;
		const char *why;
	} cases[] = {
		{ "JobId=5 JobName=x JobState=PREEMPTED Reason=None Requeue=0 Restarts=0 "
		  "ExitCode=0:15", SW_SLURM_TAKEN, "was preempted" },
		{ "JobId=5 JobName=x JobState=NODE_FAIL Reason=NodeDown Restarts=0 "
		  "ExitCode=0:0", SW_SLURM_TAKEN, "failed with its node" },
		/* PreemptMode=REQUEUE: pending (or running) again, restarted */
		{ "JobId=5 JobName=x JobState=PENDING Reason=BeginTime Requeue=1 "
		  "Restarts=1 ExitCode=0:15", SW_SLURM_TAKEN, "was requeued by Slurm" },
		{ "JobId=5 JobName=x JobState=COMPLETING Reason=None Restarts=1",
		  SW_SLURM_TAKEN, "was requeued by Slurm" },
		{ "JobId=5 JobName=x JobState=RUNNING Reason=None Restarts=2",
		  SW_SLURM_TAKEN, "was requeued by Slurm" },
		{ "JobId=5 JobName=x JobState=REQUEUED Reason=None Restarts=0",
		  SW_SLURM_TAKEN, "was requeued by Slurm" },
		{ "JobId=5 JobName=x JobState=REQUEUE_HOLD Reason=JobHeldAdmin Restarts=1",
		  SW_SLURM_TAKEN, "was requeued by Slurm" },
		/* the trial's own ends */
		{ "JobId=5 JobName=x JobState=OUT_OF_MEMORY Reason=OutOfMemory Restarts=0 "
		  "ExitCode=0:125", SW_SLURM_ENDED, NULL },
		{ "JobId=5 JobName=x JobState=TIMEOUT Reason=TimeLimit Restarts=0 "
		  "ExitCode=0:15", SW_SLURM_ENDED, NULL },
		{ "JobId=5 JobName=x JobState=CANCELLED Reason=None Restarts=0",
		  SW_SLURM_ENDED, NULL },
		{ "JobId=5 JobName=x JobState=FAILED Reason=NonZeroExitCode Restarts=0 "
		  "ExitCode=1:0", SW_SLURM_ENDED, NULL },
		{ "JobId=5 JobName=x JobState=COMPLETED Reason=None Restarts=0",
		  SW_SLURM_ENDED, NULL },
		/* a requeued job that ended in its second life ended */
		{ "JobId=5 JobName=x JobState=TIMEOUT Reason=TimeLimit Restarts=1",
		  SW_SLURM_ENDED, NULL },
		{ "JobId=5 JobName=x JobState=PENDING Reason=Priority Restarts=0",
		  SW_SLURM_GOING, NULL },
		{ "JobId=5 JobName=x JobState=RUNNING Reason=None", SW_SLURM_GOING, NULL },
		{ "JobId=5 JobName=x JobState=COMPLETING Reason=None Restarts=0",
		  SW_SLURM_GOING, NULL },
	};
	struct sw_slurm_job j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sw_slurm_job_parse(cases[i].line, &j), 0);
		if (sw_slurm_job_fate(&j) != cases[i].fate)
			fail_msg("%s: fate %d, expected %d", cases[i].line,
				 (int)sw_slurm_job_fate(&j), (int)cases[i].fate);
		if (cases[i].why)
			assert_string_equal(sw_slurm_taken_why(&j), cases[i].why);
	}
	assert_int_equal(sw_slurm_job_parse("JobId=5 JobName=x JobState=PENDING "
					    "Restarts=3", &j), 0);
	assert_int_equal(j.restarts, 3);
}

static void test_shell_quote(void **state)
{
	char *q;

	(void)state;
	q = sw_slurm_shell_quote("/shared/it's here");
	assert_string_equal(q, "'/shared/it'\\''s here'");
	free(q);
	q = sw_slurm_shell_quote("");
	assert_string_equal(q, "''");
	free(q);
}

static void test_epoch_line_round_trip(void **state)
{
	const struct sw_kv m[3] = { { "loss", 0.5 }, { "val_loss", NAN },
				    { "grad", -INFINITY } };
	struct sw_kv *kv = NULL;
	json_t *obj = NULL;
	int64_t epoch = 0;
	char *line;
	long n;

	(void)state;
	line = sw_slurm_epoch_line(3, m, 3);
	assert_non_null(line);
	assert_int_equal(line[strlen(line) - 1], '\n');
	n = sw_slurm_epoch_parse(line, &epoch, &kv, &obj);
	assert_int_equal(n, 3);
	assert_int_equal(epoch, 3);
	assert_string_equal(kv[0].name, "loss");
	assert_true(kv[0].value == 0.5);
	assert_true(isnan(kv[1].value));
	assert_true(isinf(kv[2].value) && kv[2].value < 0);
	free(kv);
	json_decref(obj);
	free(line);
	/* a metric named "epoch" (a wandb script's) is a metric like any */
	{
		const struct sw_kv me[2] = { { "epoch", 0.0 }, { "loss", 2 } };

		line = sw_slurm_epoch_line(1, me, 2);
		assert_non_null(line);
		n = sw_slurm_epoch_parse(line, &epoch, &kv, &obj);
		assert_int_equal(n, 2);
		assert_int_equal(epoch, 1);
		assert_string_equal(kv[0].name, "epoch");
		assert_true(kv[0].value == 0.0);
		free(kv);
		json_decref(obj);
		free(line);
	}
	/* lines of the first version */
	n = sw_slurm_epoch_parse("{\"epoch\": 4, \"loss\": 1}", &epoch, &kv, &obj);
	assert_int_equal(n, 1);
	assert_int_equal(epoch, 4);
	free(kv);
	json_decref(obj);
	assert_int_equal(sw_slurm_epoch_parse("{\"loss\": 1}", &epoch, &kv, &obj), -1);
	assert_int_equal(sw_slurm_epoch_parse("{\"epoch\": 1, \"loss\"", &epoch, &kv, &obj), -1);
}

static void test_job_name_and_missing_command(void **state)
{
	const char *argv[] = { "sweep-no-such-command-here", NULL };
	struct sw_err err = SW_ERR_INIT;
	char name[128], *out = NULL;
	int status = 0;

	(void)state;
	sw_slurm_job_name(name, sizeof(name), "/shared/results/cifar-20261204-101010",
			  "k3j2h1g0");
	assert_string_equal(name, "sweep-cifar-20261204-101010-k3j2h1g0");
	assert_int_equal(sw_slurm_exec(argv, &out, &status, &err), -1);
	assert_int_equal(status, 127);
	assert_non_null(strstr(err.msg, "not found on PATH"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_args),
		cmocka_unit_test(test_job_parse),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_job_fate),
		cmocka_unit_test(test_shell_quote),
		cmocka_unit_test(test_epoch_line_round_trip),
		cmocka_unit_test(test_job_name_and_missing_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
