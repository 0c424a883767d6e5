/* test_wandb_settings.c - where the wandb server, key, entity and project
 * come from: environment, netrc (machine host[:port], refused when other
 * users can read it), options; and that the key never shows in messages. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/support.h"
#include "sweep/wandb/wandb_settings.h"

static char *home;

static const char *const vars[] = {
	"WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_ENTITY", "WANDB_PROJECT", "WANDB_MODE",
	"WANDB_HTTP_TIMEOUT", "NETRC", "SWEEP_HTTP_TRIES", "SWEEP_HTTP_BACKOFF", NULL
};

static int setup(void **state)
{
	int i;

	(void)state;
	home = sw_test_tmpdir();
	setenv("HOME", home, 1);
	for (i = 0; vars[i]; i++)
		unsetenv(vars[i]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sw_test_rmtree(home);
	free(home);
	return 0;
}

static void write_netrc(const char *text, mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/.netrc", home);
	assert_int_equal(sw_test_write_file(path, text, strlen(text)), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_env_key_and_defaults(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;
	char app[256];

	(void)state;
	setenv("WANDB_API_KEY", "envkey123", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.base_url, "https://api.wandb.ai");
	assert_string_equal(s.machine, "api.wandb.ai");
	assert_string_equal(s.api_key, "envkey123");
	assert_string_equal(s.key_source, "WANDB_API_KEY");
	assert_null(s.entity);
	assert_null(s.project);
	assert_false(s.insecure);
	assert_false(s.offline);
	sw_wandb_app_url(&s, app, sizeof(app));
	assert_string_equal(app, "https://wandb.ai");
	sw_wandb_settings_release(&s);
}

static void test_entity_project_precedence(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setenv("WANDB_API_KEY", "k", 1);
	setenv("WANDB_ENTITY", "env-ent", 1);
	setenv("WANDB_PROJECT", "env-proj", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.entity, "env-ent");
	assert_string_equal(s.project, "env-proj");
	assert_int_equal(sw_wandb_settings_load(&s, "opt-ent", "opt-proj", 1, &err), 0);
	assert_string_equal(s.entity, "opt-ent");
	assert_string_equal(s.project, "opt-proj");
	assert_int_equal(sw_wandb_settings_load(&s, "", NULL, 1, &err), -1);
	assert_string_equal(err.msg, "--entity must not be empty");
	sw_wandb_settings_release(&s);
}

static void test_netrc_machine_host_port(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;
	char path[512], app[256];

	(void)state;
	write_netrc("# my hosts\n"
		    "machine api.wandb.ai login user password cloudkey\n"
		    "machine localhost:8080\n  login user\n  password localkey\n"
		    "macdef init\nmachine fake password nope\n\n"
		    "machine localhost login user password \"no#port\"\n", 0600);
	snprintf(path, sizeof(path), "%s/.netrc", home);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.api_key, "cloudkey");
	assert_string_equal(s.key_source, path);

	setenv("WANDB_BASE_URL", "http://localhost:8080/", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.base_url, "http://localhost:8080");
	assert_string_equal(s.machine, "localhost:8080");
	assert_string_equal(s.api_key, "localkey");
	assert_false(s.insecure);  /* loopback */
	sw_wandb_app_url(&s, app, sizeof(app));
	assert_string_equal(app, "http://localhost:8080");

	setenv("WANDB_BASE_URL", "http://localhost", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.api_key, "no#port");

	/* a macdef body is not parsed as entries */
	setenv("WANDB_BASE_URL", "https://fake", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_non_null(strstr(err.msg, "no wandb API key"));
	assert_non_null(strstr(err.msg, "machine fake login user password YOUR_KEY"));
	assert_non_null(strstr(err.msg, "WANDB_API_KEY"));
	/* without need_key it is fine */
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 0, &err), 0);
	assert_null(s.api_key);
	sw_wandb_settings_release(&s);
}

static void test_netrc_default_and_env_path(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/other-netrc", home);
	assert_int_equal(sw_test_write_file(path, "machine x password y\ndefault login a "
					    "password fallback\n", 55), 0);
	assert_int_equal(chmod(path, 0400), 0);
	setenv("NETRC", path, 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.api_key, "fallback");
	assert_string_equal(s.key_source, path);
	/* WANDB_API_KEY wins over any netrc */
	setenv("WANDB_API_KEY", "envkey", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.api_key, "envkey");
	sw_wandb_settings_release(&s);
}

static void test_netrc_readable_by_others_refused(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;
	char want[600];

	(void)state;
	write_netrc("machine api.wandb.ai login user password topsecret\n", 0644);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	snprintf(want, sizeof(want), "refusing to read the API key from '%s/.netrc': it is "
		 "accessible by other users (mode 0644); run 'chmod 600 %s/.netrc'", home, home);
	assert_string_equal(err.msg, want);
	assert_null(strstr(err.msg, "topsecret"));
	assert_null(s.api_key);

	write_netrc("machine api.wandb.ai login user password topsecret\n", 0620);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "mode 0620"));

	/* not even read when the key comes from the environment */
	setenv("WANDB_API_KEY", "envkey", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	sw_wandb_settings_release(&s);
}

static void test_netrc_malformed(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;
	char *p;

	(void)state;
	write_netrc("machine api.wandb.ai\nlogin user\nbogus secretword\n", 0600);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_non_null(strstr(err.msg, ".netrc' line 3: unexpected 'bogus'"));

	write_netrc("machine api.wandb.ai login user password", 0600);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_non_null(strstr(err.msg, "'password' without a value"));

	write_netrc("machine api.wandb.ai login user password \"with\\\"quote\"", 0600);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_string_equal(s.api_key, "with\"quote");

	assert_int_equal(sw_netrc_lookup("/nonexistent/netrc", "x", &p, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "unable to open '/nonexistent/netrc'"));
	sw_wandb_settings_release(&s);
}

static void test_base_url_rules(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;

	(void)state;
	setenv("WANDB_API_KEY", "k", 1);
	setenv("WANDB_BASE_URL", "http://wandb.example.com:8080", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_true(s.insecure);
	setenv("WANDB_BASE_URL", "http://127.0.0.1:9", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_false(s.insecure);
	setenv("WANDB_BASE_URL", "https://wandb.example.com", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_false(s.insecure);

	setenv("WANDB_BASE_URL", "wandb.example.com", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_string_equal(err.msg, "WANDB_BASE_URL 'wandb.example.com' is not an http:// or "
			    "https:// URL (e.g. https://api.wandb.ai or http://localhost:8080)");
	setenv("WANDB_BASE_URL", "https://api:secretkey@h.example.com", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_null(strstr(err.msg, "secretkey"));
	assert_non_null(strstr(err.msg, "must not contain user info"));
	setenv("WANDB_BASE_URL", "ftp://api:secretkey@h.example.com", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_null(strstr(err.msg, "secretkey"));
	sw_wandb_settings_release(&s);
}

static void test_mode_timeout_and_key_checks(void **state)
{
	struct sw_wandb_settings s = SW_WANDB_SETTINGS_INIT;
	struct sw_err err = SW_ERR_INIT;
	struct sw_http h;

	(void)state;
	setenv("WANDB_API_KEY", "k", 1);
	setenv("WANDB_MODE", "offline", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_true(s.offline);
	setenv("WANDB_MODE", "sideways", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_string_equal(err.msg, "WANDB_MODE 'sideways' is not one of online, offline, "
			    "disabled");
	unsetenv("WANDB_MODE");
	setenv("WANDB_HTTP_TIMEOUT", "abc", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_non_null(strstr(err.msg, "WANDB_HTTP_TIMEOUT 'abc'"));
	setenv("WANDB_HTTP_TIMEOUT", "12.5", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), 0);
	assert_true(s.http_timeout_s == 12.5);

	setenv("SWEEP_HTTP_TRIES", "3", 1);
	setenv("SWEEP_HTTP_BACKOFF", "0.05", 1);
	assert_int_equal(sw_wandb_http_init(&h, &s, &err), 0);
	assert_int_equal(h.max_tries, 3);
	assert_true(h.backoff_min_s == 0.05);
	assert_true(h.total_timeout_s == 12.5);
	assert_string_equal(h.base_url, "https://api.wandb.ai");
	assert_string_equal(h.secret, "k");
	sw_http_release(&h);

	setenv("WANDB_API_KEY", "bad key\n", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_string_equal(err.msg, "the API key from WANDB_API_KEY contains whitespace or "
			    "control characters; check how it was set");
	/* an empty WANDB_API_KEY counts as unset */
	setenv("WANDB_API_KEY", "", 1);
	assert_int_equal(sw_wandb_settings_load(&s, NULL, NULL, 1, &err), -1);
	assert_non_null(strstr(err.msg, "no wandb API key"));
	sw_wandb_settings_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_env_key_and_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entity_project_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netrc_machine_host_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netrc_default_and_env_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netrc_readable_by_others_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_netrc_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base_url_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode_timeout_and_key_checks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
