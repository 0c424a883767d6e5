/* wandb_settings.c - server, key, entity and project lookup; see
 * include/sweep/wandb/wandb_settings.h */
#define _GNU_SOURCE
#include "sweep/wandb/wandb_settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== netrc ==== */

struct lexer {
	const char *p;
	int line;
};

/* Next token (a quoted "..." token may hold spaces); returns a new string
 * or NULL at the end. *oom is set when allocation fails. */
static char *next_token(struct lexer *lx, int *oom)
{
	const char *p = lx->p;
	char *tok;
	size_t n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			if (*p == '\n')
				lx->line++;
			p++;
		}
		if (*p != '#')
			break;
		while (*p && *p != '\n')
			p++;
	}
	if (!*p) {
		lx->p = p;
		return NULL;
	}
	tok = malloc(strlen(p) + 1);
	if (!tok) {
		*oom = 1;
		return NULL;
	}
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			tok[n++] = *p++;
		}
		if (*p == '"')
			p++;
	} else {
		while (*p && !strchr(" \t\r\n", *p)) {
			if (*p == '\\' && p[1])
				p++;
			tok[n++] = *p++;
		}
	}
	tok[n] = '\0';
	lx->p = p;
	return tok;
}

/* macdef bodies run to the next empty line. */
static void skip_macdef(struct lexer *lx)
{
	const char *p = strchr(lx->p, '\n');

	while (p) {
		lx->line++;
		p++;
		if (*p == '\n' || (*p == '\r' && p[1] == '\n') || !*p)
			break;
		p = strchr(p, '\n');
	}
	lx->p = p ? p : lx->p + strlen(lx->p);
}

static int parse_netrc(const char *path, const char *text, const char *machine,
		       char **password, struct sw_err *err)
{
	struct lexer lx = { text, 1 };
	char *tok = NULL, *val = NULL, *found = NULL, *deflt = NULL;
	int in_match = 0, in_default = 0, oom = 0, ret = -1;

	while ((tok = next_token(&lx, &oom))) {
		int line = lx.line;

		if (!strcmp(tok, "machine") || !strcmp(tok, "default")) {
			in_default = !strcmp(tok, "default");
			in_match = 0;
			if (!in_default) {
				val = next_token(&lx, &oom);
				if (!val) {
					sw_errorf(err, "'%s' line %d: 'machine' without a name", path, line);
					goto done;
				}
				in_match = !strcasecmp(val, machine);
				free(val);
				val = NULL;
			}
		} else if (!strcmp(tok, "login") || !strcmp(tok, "password") ||
			   !strcmp(tok, "account")) {
			val = next_token(&lx, &oom);
			if (!val) {
				sw_errorf(err, "'%s' line %d: '%s' without a value", path, line, tok);
				goto done;
			}
			if (!strcmp(tok, "password") && in_match && !found) {
				found = val;
				val = NULL;
			} else if (!strcmp(tok, "password") && in_default && !deflt) {
				deflt = val;
				val = NULL;
			}
			free(val);
			val = NULL;
		} else if (!strcmp(tok, "macdef")) {
			free(next_token(&lx, &oom));
			skip_macdef(&lx);
		} else {
			sw_errorf(err, "'%s' line %d: unexpected '%s' (expected machine, login, "
				  "password, account, macdef or default)", path, line, tok);
			goto done;
		}
		free(tok);
		tok = NULL;
	}
	if (oom) {
		sw_errorf(err, "out of memory reading '%s'", path);
		goto done;
	}
	*password = found ? found : deflt;
	if (found)
		free(deflt);
	found = deflt = NULL;
	ret = 0;
done:
	free(tok);
	free(val);
	free(found);
	free(deflt);
	return ret;
}

int sw_netrc_lookup(const char *path, const char *machine, char **password,
		    int *errno_out, struct sw_err *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0, alloc = 0;
	int fd = -1, ret = -1;
	ssize_t n;

	*password = NULL;
	if (errno_out)
		*errno_out = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno_out)
			*errno_out = errno;
		sw_errorf(err, "unable to open '%s': %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		sw_errorf(err, "unable to stat '%s': %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		sw_errorf(err, "'%s' is not a regular file", path);
		goto done;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		sw_errorf(err, "refusing to read the API key from '%s': it is accessible by "
			  "other users (mode %04o); run 'chmod 600 %s'", path,
			  (unsigned)(st.st_mode & 07777), path);
		goto done;
	}
	if (st.st_size > (1 << 20)) {
		sw_errorf(err, "'%s' is larger than 1 MiB; is it really a netrc file?", path);
		goto done;
	}
	for (;;) {
		if (len + 4096 + 1 > alloc) {
			char *p = realloc(text, alloc = len + 8192);

			if (!p) {
				sw_errorf(err, "out of memory reading '%s'", path);
				goto done;
			}
			text = p;
		}
		n = read(fd, text + len, alloc - len - 1);
		if (n < 0) {
			sw_errorf(err, "unable to read '%s': %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (1 << 20)) {
			sw_errorf(err, "'%s' is larger than 1 MiB", path);
			goto done;
		}
	}
	if (!text)
		text = calloc(1, 1);
	if (!text) {
		sw_errorf(err, "out of memory reading '%s'", path);
		goto done;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		sw_errorf(err, "'%s' contains NUL bytes; is it really a netrc file?", path);
		goto done;
	}
	ret = parse_netrc(path, text, machine, password, err);
done:
	if (text) {
		explicit_bzero(text, alloc > len ? alloc : len);
		free(text);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/* ==== Settings ==== */

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int dup_into(char **dst, const char *src, struct sw_err *err)
{
	free(*dst);
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : sw_errorf(err, "out of memory");
}

/* Rejects characters that would break a header or a URL, or could hide. */
static int check_key(const char *key, const char *source, struct sw_err *err)
{
	const unsigned char *p;

	for (p = (const unsigned char *)key; *p; p++)
		if (*p <= ' ' || *p == 127)
			return sw_errorf(err, "the API key from %s contains whitespace or control "
					 "characters; check how it was set", source);
	return 0;
}

int sw_wandb_settings_load(struct sw_wandb_settings *s, const char *entity_opt,
			   const char *project_opt, int need_key, struct sw_err *err)
{
	const char *base = env_nonempty("WANDB_BASE_URL");
	const char *key = env_nonempty("WANDB_API_KEY");
	const char *mode = env_nonempty("WANDB_MODE");
	const char *timeout = env_nonempty("WANDB_HTTP_TIMEOUT");
	char machine[256], *netrc = NULL, *password = NULL;
	const char *rest;
	size_t n;
	int is_https = 0, eno = 0, ret = -1;

	sw_wandb_settings_release(s);
	if (!base)
		base = SW_WANDB_DEFAULT_BASE_URL;
	if (dup_into(&s->base_url, base, err) < 0)
		goto done;
	n = strlen(s->base_url);
	while (n > 0 && s->base_url[n - 1] == '/')
		s->base_url[--n] = '\0';
	if (sw_url_host_port(s->base_url, machine, sizeof(machine), &is_https) < 0) {
		char shown[256];

		sw_url_redact(s->base_url, shown, sizeof(shown));
		sw_errorf(err, "WANDB_BASE_URL '%s' is not an http:// or https:// URL "
			  "(e.g. https://api.wandb.ai or http://localhost:8080)", shown);
		goto done;
	}
	rest = s->base_url + (is_https ? 8 : 7);
	if (memchr(rest, '@', strcspn(rest, "/")) || strpbrk(rest, "?#")) {
		sw_errorf(err, "WANDB_BASE_URL must not contain user info, a query or a "
			  "fragment; give the key in WANDB_API_KEY or ~/.netrc");
		goto done;
	}
	if (dup_into(&s->machine, machine, err) < 0)
		goto done;
	s->insecure = !is_https && !sw_url_is_loopback(s->base_url);

	if (mode) {
		if (!strcmp(mode, "offline") || !strcmp(mode, "dryrun") ||
		    !strcmp(mode, "disabled")) {
			s->offline = 1;
		} else if (strcmp(mode, "online") && strcmp(mode, "run")) {
			sw_errorf(err, "WANDB_MODE '%s' is not one of online, offline, disabled",
				  mode);
			goto done;
		}
	}
	if (timeout) {
		char *end;
		double t = strtod(timeout, &end);

		if (end == timeout || *end || !(t > 0) || t > 86400) {
			sw_errorf(err, "WANDB_HTTP_TIMEOUT '%s' is not a number of seconds "
				  "between 0 and 86400", timeout);
			goto done;
		}
		s->http_timeout_s = t;
	}

	if (dup_into(&s->entity, entity_opt ? entity_opt : env_nonempty("WANDB_ENTITY"),
		     err) < 0 ||
	    dup_into(&s->project, project_opt ? project_opt : env_nonempty("WANDB_PROJECT"),
		     err) < 0)
		goto done;
	if (s->entity && !*s->entity) {
		sw_errorf(err, "--entity must not be empty");
		goto done;
	}
	if (s->project && !*s->project) {
		sw_errorf(err, "--project must not be empty");
		goto done;
	}

	if (key) {
		if (check_key(key, "WANDB_API_KEY", err) < 0)
			goto done;
		if (dup_into(&s->api_key, key, err) < 0 ||
		    dup_into(&s->key_source, "WANDB_API_KEY", err) < 0)
			goto done;
	} else {
		const char *env_netrc = env_nonempty("NETRC");
		const char *home = env_nonempty("HOME");

		if (env_netrc)
			netrc = strdup(env_netrc);
		else if (home && asprintf(&netrc, "%s/.netrc", home) < 0)
			netrc = NULL;
		if (netrc && sw_netrc_lookup(netrc, machine, &password, &eno, err) < 0 &&
		    eno != ENOENT)
			goto done;
		if (password) {
			if (check_key(password, netrc, err) < 0)
				goto done;
			s->api_key = password;
			password = NULL;
			if (dup_into(&s->key_source, netrc, err) < 0)
				goto done;
		}
	}
	if (need_key && !s->api_key) {
		sw_errorf(err, "no wandb API key: set WANDB_API_KEY, or add 'machine %s login "
			  "user password YOUR_KEY' to %s (mode 600); keys are at "
			  "https://wandb.ai/authorize", machine, netrc ? netrc : "~/.netrc");
		goto done;
	}
	sw_err_clear(err);
	ret = 0;
done:
	free(netrc);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	if (ret < 0)
		sw_wandb_settings_release(s);
	return ret;
}

void sw_wandb_settings_release(struct sw_wandb_settings *s)
{
	if (!s)
		return;
	free(s->base_url);
	free(s->machine);
	if (s->api_key)
		explicit_bzero(s->api_key, strlen(s->api_key));
	free(s->api_key);
	free(s->key_source);
	free(s->entity);
	free(s->project);
	memset(s, 0, sizeof(*s));
}

static double env_double(const char *name, double lo, double hi, double dflt)
{
	const char *v = env_nonempty(name);
	char *end;
	double d;

	if (!v)
		return dflt;
	d = strtod(v, &end);
	if (end == v || *end || !(d >= lo) || !(d <= hi))
		return dflt;
	return d;
}

int sw_wandb_http_init(struct sw_http *http, const struct sw_wandb_settings *s,
		       struct sw_err *err)
{
	sw_http_init(http);
	if (s->http_timeout_s > 0)
		http->total_timeout_s = s->http_timeout_s;
	http->max_tries = (int)env_double("SWEEP_HTTP_TRIES", 1, 1000, http->max_tries);
	http->backoff_min_s = env_double("SWEEP_HTTP_BACKOFF", 0, 60, http->backoff_min_s);
	if (http->backoff_min_s > http->backoff_max_s)
		http->backoff_max_s = http->backoff_min_s;
	if (sw_http_set_server(http, s->base_url, s->api_key) < 0)
		return sw_errorf(err, "out of memory");
	return 0;
}

void sw_wandb_app_url(const struct sw_wandb_settings *s, char *out, size_t outsz)
{
	if (!strcasecmp(s->machine, "api.wandb.ai"))
		snprintf(out, outsz, "https://wandb.ai");
	else
		snprintf(out, outsz, "%s", s->base_url);
}
