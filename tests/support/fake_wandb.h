/*
 * fake_wandb.h - start and drive tests/fake_wandb.py (the fake wandb server,
 * Python 3 standard library) from a C test. See the top of that file for
 * its configuration, fault injection and record format.
 *
 * sw_fake_wandb_start() runs `python3 tests/fake_wandb.py` (or
 * $SWEEP_FAKE_WANDB) on 127.0.0.1 with an ephemeral port, a record file in
 * a fresh temporary directory and the given JSON config, and waits for it
 * to print its port. f->url is then the base URL to put in WANDB_BASE_URL.
 *
 * defines: struct sw_fake_wandb, SW_FAKE_WANDB_KEY, sw_fake_wandb_start,
 *          sw_fake_wandb_stop, sw_fake_wandb_record, sw_fake_wandb_control,
 *          sw_fake_wandb_requests, sw_fake_wandb_env, struct sw_fake_env,
 *          sw_fake_env_init, sw_fake_env_add, sw_fake_env_free
 */
#ifndef SW_TEST_FAKE_WANDB_H
#define SW_TEST_FAKE_WANDB_H

#include <jansson.h>
#include <sys/types.h>

/* The key the fake server accepts unless its config says otherwise. */
#define SW_FAKE_WANDB_KEY "fakekey-00000000000000000000000000000000"

struct sw_fake_wandb {
	pid_t pid;
	int port;
	char url[64];          /* http://127.0.0.1:PORT */
	char *dir;             /* temporary directory (owned) */
	char record[512];      /* path of the record file */
};

/* config_json: a JSON object as text, or NULL. Returns 0, or -1 (with a
 * message on stderr) when the server did not start within 15 s. */
int sw_fake_wandb_start(struct sw_fake_wandb *f, const char *config_json);

/* Kills the server (SIGTERM, then waits) and removes its directory. */
void sw_fake_wandb_stop(struct sw_fake_wandb *f);

/* The server's record (read from its record file); a new reference, NULL
 * if it cannot be read. */
json_t *sw_fake_wandb_record(struct sw_fake_wandb *f);

/* POSTs config_json to /_control/config (merged into the live config).
 * Returns 0 or -1. */
int sw_fake_wandb_control(struct sw_fake_wandb *f, const char *config_json);

/* Number of recorded requests for operation op ("UpsertSweep",
 * "file_stream", ...; NULL: all) in a record. */
int sw_fake_wandb_requests(json_t *record, const char *op);

/* Appends to vars (from *n on) the environment a test of a wandb command
 * runs with: HOME=home, XDG_CACHE_HOME=home/cache, WANDB_BASE_URL=base_url,
 * WANDB_API_KEY=key (NULL: empty), WANDB_ENTITY, WANDB_PROJECT, WANDB_MODE
 * and NETRC set empty so the caller's own environment cannot leak in, and
 * quick retries (SWEEP_HTTP_BACKOFF=0.02, SWEEP_HTTP_TRIES=tries). Each
 * entry is a new string the caller frees. Returns 0, or -1 out of memory. */
int sw_fake_wandb_env(char **vars, int *n, const char *home, const char *base_url,
		      const char *key, int tries);

/* A temporary HOME and the environment of sw_fake_wandb_env(), kept
 * NULL-terminated so vars can be passed to sw_test_run() as is. */
#define SW_FAKE_ENV_MAX 24
struct sw_fake_env {
	char *tmp;                         /* owned temporary directory */
	char *vars[SW_FAKE_ENV_MAX + 1];   /* owned "K=V" strings */
	int n;
};

/* Zeroes e, makes e->tmp and fills the wandb test environment (see
 * sw_fake_wandb_env) for base_url and key with `tries` HTTP tries.
 * Returns 0 or -1. */
int sw_fake_env_init(struct sw_fake_env *e, const char *base_url,
		     const char *key, int tries);

/* Appends "K=V" (a later entry wins over an earlier one). Returns 0 or -1
 * when full. */
int sw_fake_env_add(struct sw_fake_env *e, const char *kv);

/* Frees the strings and removes e->tmp. */
void sw_fake_env_free(struct sw_fake_env *e);

#endif
