/* test_report_render.c - renders `sweep report` pages in headless Chromium
 * (Debian's `chromium`, installed by `make deps`) to PNG screenshots and
 * checks them: the expected size, not blank, content all down the page,
 * colour in the plots. A blank page is rendered too, as a control for the
 * checker. Skips only when no chromium binary can be found. The PNGs are
 * decoded by tests/report/png_check.py (python3 standard library). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/report_gen.h"
#include "support/support.h"
#include "sweep/report/report.h"

#define FIXTURE "tests/report/fixture"
#define WIDTH 1280
#define HEIGHT 4000

struct shot {
	int width, height, colors, bands;
	double nonwhite, colorful;
};

static char chromium[4096];

/* $SWEEP_CHROMIUM, else chromium / chromium-browser on PATH. */
static int find_chromium(void)
{
	static const char *const names[] = { "chromium", "chromium-browser", NULL };
	const char *env = getenv("SWEEP_CHROMIUM"), *path = getenv("PATH");
	char *dirs, *dir, *save = NULL;
	int i, found = 0;

	if (env && *env && access(env, X_OK) == 0) {
		snprintf(chromium, sizeof(chromium), "%s", env);
		return 1;
	}
	dirs = strdup(path && *path ? path : "/usr/bin:/bin");
	if (!dirs)
		return 0;
	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save))
		for (i = 0; names[i] && !found; i++) {
			snprintf(chromium, sizeof(chromium), "%s/%s", dir, names[i]);
			found = access(chromium, X_OK) == 0;
		}
	free(dirs);
	return found;
}

/* Screenshots file://html into png and decodes it into *s. */
static void screenshot(const char *tmp, const char *html, const char *png,
		       struct shot *s)
{
	struct sw_test_proc p;
	char *profile, *shot_arg, *url, size_arg[64];
	const char *script = "tests/report/png_check.py";

	assert_true(asprintf(&profile, "--user-data-dir=%s/profile-%d", tmp,
			     (int)strlen(png)) > 0);
	assert_true(asprintf(&shot_arg, "--screenshot=%s", png) > 0);
	assert_true(asprintf(&url, "file://%s", html) > 0);
	snprintf(size_arg, sizeof(size_arg), "--window-size=%d,%d", WIDTH, HEIGHT);
	{
		const char *argv[] = {
			chromium, "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--hide-scrollbars", profile, shot_arg, size_arg,
			url, NULL
		};

		assert_int_equal(sw_test_run(&p, argv, NULL, NULL, 120), 0);
		if (p.status != 0)
			fail_msg("chromium exited %d: %s", p.status, p.err);
		sw_test_proc_release(&p);
	}
	{
		const char *argv[] = { "python3", script, png, NULL };

		assert_int_equal(sw_test_run(&p, argv, NULL, NULL, 120), 0);
		if (p.status != 0)
			fail_msg("png_check.py exited %d: %s", p.status, p.err);
		if (sscanf(p.out, "width=%d height=%d colors=%d nonwhite=%lf bands=%d "
			   "colorful=%lf", &s->width, &s->height, &s->colors, &s->nonwhite,
			   &s->bands, &s->colorful) != 6)
			fail_msg("unexpected png_check output: %s", p.out);
		print_message("%s: %s", png, p.out);
		sw_test_proc_release(&p);
	}
	free(profile);
	free(shot_arg);
	free(url);
}

static void render_to(const char *dir, const char *out)
{
	struct sw_err err = SW_ERR_INIT;

	if (sw_report_write(dir, out, &err) < 0)
		fail_msg("report %s: %s", dir, err.msg);
}

static char *abs_tmpdir(void)
{
	char *t = sw_test_tmpdir(), *r;

	assert_non_null(t);
	r = realpath(t, NULL);
	free(t);
	assert_non_null(r);
	return r;
}

static void test_render_fixture(void **state)
{
	char *tmp, *html, *png;
	struct shot s;

	(void)state;
	if (!find_chromium()) {
		print_message("chromium not found: run `make deps` to install it\n");
		skip();
	}
	tmp = abs_tmpdir();
	assert_true(asprintf(&html, "%s/fixture.html", tmp) > 0);
	assert_true(asprintf(&png, "%s/fixture.png", tmp) > 0);
	render_to(FIXTURE, html);
	screenshot(tmp, html, png, &s);
	assert_int_equal(s.width, WIDTH);
	assert_int_equal(s.height, HEIGHT);
	/* text, axes, curves, bars: many colours, ink in every band of the
	 * page (the fixture's report is taller than the window), colour in
	 * the plots, and yet mostly white paper */
	assert_true(s.colors > 200);
	assert_true(s.nonwhite > 0.03 && s.nonwhite < 0.6);
	assert_int_equal(s.bands, 20);
	assert_true(s.colorful > 0.004);
	if (!getenv("SWEEP_KEEP_SCREENSHOTS"))
		sw_test_rmtree(tmp);
	else
		print_message("kept %s\n", png);
	free(html);
	free(png);
	free(tmp);
}

static void test_render_300_runs(void **state)
{
	struct sw_gen_opts o = { 300, 1, 1, 777 };
	char *tmp, *dir, *html, *png;
	struct shot s;

	(void)state;
	if (!find_chromium())
		skip();
	tmp = abs_tmpdir();
	assert_true(asprintf(&dir, "%s/res", tmp) > 0);
	assert_true(asprintf(&html, "%s/many.html", tmp) > 0);
	assert_true(asprintf(&png, "%s/many.png", tmp) > 0);
	assert_int_equal(sw_gen_results(dir, &o), 0);
	render_to(dir, html);
	screenshot(tmp, html, png, &s);
	assert_int_equal(s.width, WIDTH);
	assert_int_equal(s.height, HEIGHT);
	assert_true(s.colors > 200);
	assert_true(s.nonwhite > 0.03 && s.nonwhite < 0.7);
	assert_int_equal(s.bands, 20);
	assert_true(s.colorful > 0.004);
	if (!getenv("SWEEP_KEEP_SCREENSHOTS"))
		sw_test_rmtree(tmp);
	else
		print_message("kept %s\n", png);
	free(dir);
	free(html);
	free(png);
	free(tmp);
}

/* The table sorter runs in a real browser: a script appended to a copy of
 * the page clicks column headers and records the row order in the DOM,
 * which --dump-dom prints. */
static void test_render_table_sorting(void **state)
{
	static const char probe[] =
		"<script>\n"
		"function order(){return Array.prototype.map.call(document."
		"querySelectorAll('#runs-table tbody tr'),function(r){return "
		"r.cells[1].textContent.replace(' \\u2605','');}).join(',');}\n"
		"var th=document.querySelectorAll('#runs-table thead th');\n"
		"th[3].click();document.body.setAttribute('data-metric-asc',order());\n"
		"th[3].click();document.body.setAttribute('data-metric-desc',order());\n"
		"th[0].click();document.body.setAttribute('data-index-asc',order());\n"
		"</script>\n";
	struct sw_test_proc p;
	char *tmp, *html, *page, *profile, *url, *end;
	size_t len;

	(void)state;
	if (!find_chromium())
		skip();
	tmp = abs_tmpdir();
	assert_true(asprintf(&html, "%s/sort.html", tmp) > 0);
	render_to(FIXTURE, html);
	page = sw_test_read_file(html, &len);
	assert_non_null(page);
	end = strstr(page, "</body>");
	assert_non_null(end);
	{
		FILE *f = fopen(html, "w");

		assert_non_null(f);
		fwrite(page, 1, (size_t)(end - page), f);
		fputs(probe, f);
		fputs(end, f);
		fclose(f);
	}
	free(page);
	assert_true(asprintf(&profile, "--user-data-dir=%s/profile-sort", tmp) > 0);
	assert_true(asprintf(&url, "file://%s", html) > 0);
	{
		const char *argv[] = {
			chromium, "--headless", "--no-sandbox", "--disable-gpu",
			"--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update",
			"--disable-sync", profile, "--dump-dom", url, NULL
		};

		assert_int_equal(sw_test_run(&p, argv, NULL, NULL, 120), 0);
		if (p.status != 0)
			fail_msg("chromium exited %d: %s", p.status, p.err);
	}
	/* metric ascending, the run without a value last either way */
	assert_non_null(strstr(p.out, "data-metric-asc=\"d4,c3,e5,b2,f6,a1,&lt;img"));
	assert_non_null(strstr(p.out, "data-metric-desc=\"a1,f6,b2,e5,c3,d4,&lt;img"));
	if (!strstr(p.out, "data-index-asc=\"a1,b2,c3,d4,&lt;img src=x "
		    "onerror=alert(1)&gt;&amp;&quot;ü/..',f6,e5\""))
		fail_msg("unexpected order: %.300s", strstr(p.out, "data-index-asc"));
	sw_test_proc_release(&p);
	sw_test_rmtree(tmp);
	free(profile);
	free(url);
	free(html);
	free(tmp);
}

/* The checker must see a blank page as blank. */
static void test_render_blank_control(void **state)
{
	static const char blank[] = "<!DOCTYPE html><html><body></body></html>\n";
	char *tmp, *html, *png;
	struct shot s;

	(void)state;
	if (!find_chromium())
		skip();
	tmp = abs_tmpdir();
	assert_true(asprintf(&html, "%s/blank.html", tmp) > 0);
	assert_true(asprintf(&png, "%s/blank.png", tmp) > 0);
	assert_int_equal(sw_test_write_file(html, blank, strlen(blank)), 0);
	screenshot(tmp, html, png, &s);
	assert_int_equal(s.width, WIDTH);
	assert_int_equal(s.height, HEIGHT);
	assert_true(s.colors <= 2);
	assert_true(s.nonwhite < 0.001);
	assert_int_equal(s.bands, 0);
	sw_test_rmtree(tmp);
	free(html);
	free(png);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_fixture),
		cmocka_unit_test(test_render_300_runs),
		cmocka_unit_test(test_render_table_sorting),
		cmocka_unit_test(test_render_blank_control),
	};

	return cmocka_run_group_tests_name("report_render", tests, NULL, NULL);
}
