/* gql.c - GraphQL request marshalling and error bodies; see
 * include/sweep/wandb/gql.h */
#define _GNU_SOURCE
#include "sweep/wandb/gql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends "; " and s to dst (bounded). */
static void join(char *dst, size_t dstsz, const char *s)
{
	size_t n = strlen(dst);

	if (n >= dstsz - 1)
		return;
	snprintf(dst + n, dstsz - n, "%s%s", n ? "; " : "", s);
}

/* The messages of an error body: {"errors": [{"message", "path"} | "text"]}
 * or {"error": "text"}. Writes "" when there are none. Sets *where to the
 * first path element (borrowed from body) when known. */
static void error_messages(json_t *body, char *out, size_t outsz, const char **where)
{
	json_t *errors, *e, *m;
	size_t i;

	out[0] = '\0';
	*where = NULL;
	if (!json_is_object(body))
		return;
	errors = json_object_get(body, "errors");
	if (json_is_array(errors)) {
		json_array_foreach(errors, i, e) {
			if (json_is_string(e)) {
				join(out, outsz, json_string_value(e));
				continue;
			}
			m = json_object_get(e, "message");
			if (json_is_string(m))
				join(out, outsz, json_string_value(m));
			if (!*where) {
				json_t *path = json_object_get(e, "path");

				if (json_is_array(path) && json_is_string(json_array_get(path, 0)))
					*where = json_string_value(json_array_get(path, 0));
			}
		}
		if (!out[0] && json_array_size(errors))
			snprintf(out, outsz, "unspecified error");
	} else if (json_is_string(errors)) {
		join(out, outsz, json_string_value(errors));
	}
	m = json_object_get(body, "error");
	if (json_is_string(m))
		join(out, outsz, json_string_value(m));
	else if (json_is_object(m) && json_is_string(json_object_get(m, "message")))
		join(out, outsz, json_string_value(json_object_get(m, "message")));
}

static int fail(struct sw_http *http, struct sw_err *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct sw_http *http, struct sw_err *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		sw_redact(err->msg, http->secret);
		sw_redact(err->msg, http->secret_b64);
	}
	return status;
}

char *sw_gql_body(const char *query, json_t *vars)
{
	json_t *req = json_pack("{s:s, s:O}", "query", query, "variables", vars);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;

	json_decref(req);
	return text;
}

int sw_gql_request(struct sw_http *http, const char *query, const char *vars_json,
		   struct sw_buf *out, struct sw_err *err)
{
	struct sw_http_response resp;
	struct sw_err herr = SW_ERR_INIT;
	json_t *vars = NULL, *body = NULL;
	json_error_t jerr;
	char *url = NULL, *text = NULL, msgs[400], machine[256], shown[256];
	const char *where = NULL;
	int ret = -1, rc;

	sw_http_response_init(&resp, http->max_body);
	sw_buf_reset(out);
	if (!http->base_url) {
		ret = fail(http, err, SW_ERR, "no wandb server set (WANDB_BASE_URL)");
		goto done;
	}
	if (sw_url_host_port(http->base_url, machine, sizeof(machine), NULL) < 0)
		snprintf(machine, sizeof(machine), "%s", "api.wandb.ai");
	sw_url_redact(http->base_url, shown, sizeof(shown));
	vars = vars_json ? json_loads(vars_json, JSON_REJECT_DUPLICATES, &jerr) : json_object();
	if (!json_is_object(vars)) {
		ret = fail(http, err, SW_ERR, "graphql variables are not a JSON object%s%s",
			   vars ? "" : ": ", vars ? "" : jerr.text);
		goto done;
	}
	text = sw_gql_body(query, vars);
	if (!text || asprintf(&url, "%s/graphql", http->base_url) < 0) {
		url = NULL;
		ret = fail(http, err, SW_ERR, "out of memory");
		goto done;
	}

	rc = sw_http_post_json(http, url, text, http->secret ? "api" : NULL, http->secret,
			       0, &resp, &herr);
	if (rc == SW_ERR_INTR) {
		ret = fail(http, err, SW_ERR_INTR, "%s", herr.msg);
		goto done;
	}
	body = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, &jerr) : NULL;
	error_messages(body, msgs, sizeof(msgs), &where);
	if (rc < 0 && resp.status == 0) {
		ret = fail(http, err, SW_ERR, "unable to reach wandb at %s: %s", shown, herr.msg);
		goto done;
	}
	if (resp.status == 401) {
		ret = fail(http, err, SW_ERR, "wandb rejected the API key (HTTP 401 from %s%s%s); "
			   "set WANDB_API_KEY, or put 'machine %s login user password KEY' in "
			   "~/.netrc (mode 600); keys are at https://wandb.ai/authorize",
			   shown, msgs[0] ? ": " : "", msgs, machine);
		goto done;
	}
	if (resp.status == 403) {
		ret = fail(http, err, SW_ERR, "wandb denied access (HTTP 403)%s%s; check that the "
			   "entity and project exist and that this API key may write to them",
			   msgs[0] ? ": " : "", msgs);
		goto done;
	}
	if (msgs[0]) {
		if (resp.status >= 200 && resp.status < 300)
			ret = fail(http, err, SW_ERR, "wandb: %s%s%s%s", msgs,
				   where ? " (in " : "", where ? where : "", where ? ")" : "");
		else
			ret = fail(http, err, SW_ERR, "wandb: %s (HTTP %ld%s%s)", msgs, resp.status,
				   where ? " in " : "", where ? where : "");
		goto done;
	}
	if (rc < 0) {
		ret = fail(http, err, SW_ERR, "%s", herr.msg);
		goto done;
	}
	if (!json_is_object(body) || !json_is_object(json_object_get(body, "data"))) {
		ret = fail(http, err, SW_ERR, "unexpected answer from %s: %s", url,
			   body ? "no \"data\" object" : "not JSON");
		goto done;
	}
	if (sw_buf_append(out, resp.body.data, resp.body.len) < 0) {
		ret = fail(http, err, SW_ERR, "the answer from %s is too large", url);
		goto done;
	}
	ret = 0;
done:
	json_decref(body);
	json_decref(vars);
	free(text);
	free(url);
	sw_http_response_release(&resp);
	return ret;
}

int sw_gql_call(struct sw_http *http, const char *query, json_t *vars,
		json_t **data, struct sw_err *err)
{
	struct sw_buf out;
	json_t *body = NULL;
	char *vtext = NULL;
	int ret = -1, rc;

	*data = NULL;
	sw_buf_init(&out, http->max_body);
	if (vars) {
		vtext = json_dumps(vars, JSON_COMPACT);
		if (!vtext) {
			ret = sw_errorf(err, "graphql variables cannot be encoded as JSON");
			goto done;
		}
	}
	rc = sw_gql_request(http, query, vtext, &out, err);
	if (rc < 0) {
		ret = rc;
		goto done;
	}
	body = json_loadb(out.data, out.len, 0, NULL);
	*data = json_incref(json_object_get(body, "data"));
	if (!*data) {
		ret = sw_errorf(err, "unexpected answer from wandb: no \"data\" object");
		goto done;
	}
	ret = 0;
done:
	json_decref(body);
	free(vtext);
	sw_buf_release(&out);
	return ret;
}
