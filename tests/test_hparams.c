/* test_hparams.c - the trainer's hyperparameter table: lookup, suggestions,
 * type and range checks, and typed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "trainer/hparams.h"

static void test_table_has_the_issue_names(void **state)
{
	static const char *const names[] = {
		"learning_rate", "batch_size", "epochs", "optimizer", "momentum",
		"nesterov", "weight_decay", "lr_schedule", "conv1_filters",
		"conv2_filters", "dense_units", "dropout_1", "dropout", "bn_momentum",
		"precise_bn", "image_size", "normalize", "augment", "train_limit",
		"val_limit", "seed", NULL
	};
	int i, n = 0;

	(void)state;
	for (i = 0; names[i]; i++)
		assert_non_null(cnn_hparam_find(names[i]));
	while (cnn_hparam_table[n].name)
		n++;
	assert_int_equal(n, i);
	assert_null(cnn_hparam_find("lr"));
}

static void test_suggest(void **state)
{
	(void)state;
	assert_string_equal(cnn_hparam_suggest("learning_rat"), "learning_rate");
	assert_string_equal(cnn_hparam_suggest("batchsize"), "batch_size");
	assert_string_equal(cnn_hparam_suggest("dropout1"), "dropout_1");
	assert_null(cnn_hparam_suggest("completely_unrelated_name"));
}

static void check_value(const char *name, json_t *v, int ok, const char *why)
{
	struct sw_err err = SW_ERR_INIT;
	int rc = cnn_hparam_check(cnn_hparam_find(name), v, &err);

	assert_int_equal(rc, ok ? 0 : -1);
	if (why)
		assert_non_null(strstr(err.msg, why));
	json_decref(v);
}

static void test_checks(void **state)
{
	(void)state;
	check_value("learning_rate", json_real(3e-4), 1, NULL);
	check_value("learning_rate", json_integer(1), 1, NULL);
	check_value("learning_rate", json_real(0), 0, "greater than 0");
	check_value("learning_rate", json_string("fast"), 0, "must be a number");
	check_value("batch_size", json_real(128.0), 1, NULL);
	check_value("batch_size", json_real(128.5), 0, "must be an integer");
	check_value("batch_size", json_integer(0), 0, "between 1 and 4096, got 0");
	check_value("optimizer", json_string("sgd"), 1, NULL);
	check_value("optimizer", json_string("adamw"), 0, "adam | sgd | rmsprop");
	check_value("optimizer", json_integer(1), 0, "must be one of");
	check_value("nesterov", json_true(), 1, NULL);
	check_value("nesterov", json_integer(1), 0, "true or false");
	check_value("image_size", json_integer(30), 0, "multiple of 4");
	check_value("image_size", json_integer(64), 1, NULL);
	check_value("dropout", json_real(0.96), 0, "between 0 and 0.95");
}

static void test_defaults_and_set(void **state)
{
	struct cnn_hparams hp;
	struct sw_err err = SW_ERR_INIT;
	json_t *j;

	(void)state;
	cnn_hparams_default(&hp);
	assert_true(hp.learning_rate == 1e-3);
	assert_int_equal(hp.batch_size, 256);
	assert_int_equal(hp.epochs, 5);
	assert_int_equal(hp.conv1_filters, 32);
	assert_int_equal(hp.conv2_filters, 64);
	assert_true(hp.bn_momentum == 0.99);
	assert_true(hp.precise_bn);

	assert_int_equal(cnn_hparams_set(&hp, "learning_rate", "3e-4", &err), 0);
	assert_true(hp.learning_rate == 3e-4);
	assert_int_equal(cnn_hparams_set(&hp, "optimizer", "rmsprop", &err), 0);
	assert_int_equal(hp.optimizer, CNN_OPT_RMSPROP);
	assert_int_equal(cnn_hparams_set(&hp, "precise_bn", "false", &err), 0);
	assert_false(hp.precise_bn);
	assert_int_equal(cnn_hparams_set(&hp, "train_limit", "all", &err), 0);
	assert_int_equal(hp.train_limit, 0);
	assert_int_equal(cnn_hparams_set(&hp, "augment", "flip_crop", &err), 0);
	assert_int_equal(hp.augment, CNN_AUG_FLIP_CROP);

	assert_int_equal(cnn_hparams_set(&hp, "epochs", "many", &err), -1);
	assert_string_equal(err.msg, "hyperparameter 'epochs': must be a number");
	assert_int_equal(cnn_hparams_set(&hp, "epocs", "3", &err), -1);
	assert_string_equal(err.msg, "unknown hyperparameter 'epocs'; did you mean 'epochs'?");
	assert_int_equal(hp.epochs, 5);

	j = cnn_hparams_to_json(&hp);
	assert_string_equal(json_string_value(json_object_get(j, "optimizer")), "rmsprop");
	assert_int_equal(json_integer_value(json_object_get(j, "batch_size")), 256);
	assert_int_equal(json_object_size(j), 21);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_has_the_issue_names),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_defaults_and_set),
	};

	return cmocka_run_group_tests_name("hparams", tests, NULL, NULL);
}
