/*
 * wandb_runfile.h - reads the run file wandb writes in offline mode
 * (`wandb/offline-run-DATE-ID/run-ID.wandb`) without wandb or a protobuf
 * library: LevelDB log framing (32 KiB blocks, IEEE CRC-32 over type+data,
 * FULL/FIRST/MIDDLE/LAST fragments) around protobuf `Record` messages,
 * decoded by hand. Format facts: docs/wandb-offline-format.md of the team.
 *
 * What it gives: the run record (id, project, entity, name, sweep id,
 * config), every history row in file order, the final summary, the exit
 * code and the alerts. Values are wandb's `value_json` (Python json.dumps
 * text) decoded into jansson values:
 *   - numbers: integers as json_integer (2^60 is exact; integers beyond
 *     int64 become reals), others as json_real (exact round trip);
 *   - NaN, Infinity, -Infinity (bare tokens, anywhere, also inside lists
 *     and objects): the strings "NaN", "Infinity", "-Infinity", the
 *     convention of the results store (history.jsonl);
 *   - strings, booleans, null, lists: as they are;
 *   - nested dicts (`wandb.log({"val": {"loss": 2.0}})`) and media
 *     (`wandb.Image`: an object with a "_type" key): objects, as wandb
 *     records them; sw_wandb_row_flatten() makes the "val.loss" keys the
 *     wandb UI shows.
 *
 * Bad input never crashes and never loses an intact record: a file cut
 * anywhere (a killed run), a bad CRC, a torn or malformed record, garbage
 * between blocks: every record that is wholly present and intact is used,
 * the reader resynchronises at the next 32 KiB block, and the damage is
 * described by ONE warning (run->warning) naming the file and the byte
 * offset of the first damage. Unknown record types and unknown fields
 * (newer SDKs) are skipped silently, as protobuf does. Only a file that is
 * not a wandb run file at all (no ":W&B" header) or cannot be read is an
 * error.
 *
 * defines: struct sw_wandb_runfile, SW_WANDB_RUNFILE_INIT, sw_wandb_runfile_release,
 *          sw_wandb_runfile_read, sw_wandb_runfile_parse,
 *          sw_wandb_runfile_find, sw_wandb_runfiles_list,
 *          sw_wandb_runfiles_free, sw_wandb_json_parse,
 *          sw_wandb_row_flatten, sw_wandb_value_number, sw_wandb_number_json
 */
#ifndef SW_WANDB_RUNFILE_H
#define SW_WANDB_RUNFILE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Everything read from one run file. Every pointer is owned by the struct
 * (sw_wandb_runfile_release frees them); strings are NULL when the file has no
 * run record, "" when the run record leaves them out (as wandb reads them). */
struct sw_wandb_runfile {
	char *run_id;        /* RunRecord.run_id */
	char *project;       /* RunRecord.project */
	char *entity;        /* RunRecord.entity */
	char *display_name;  /* RunRecord.display_name */
	char *sweep_id;      /* RunRecord.sweep_id ("" outside a sweep) */
	json_t *config;      /* object: key -> value, as wandb.config ends
			      * (run record's config, then config records'
			      * updates/removes in order); includes "_wandb" */
	json_t *history;     /* array of row objects in file order; each holds
			      * the row's items: "_step", "_runtime",
			      * "_timestamp" and what wandb.log() logged */
	json_t *summary;     /* object: the final summary (every summary
			      * record's update/remove applied in order) */
	json_t *alerts;      /* array of {"title", "text", "level"} */
	int has_exit;        /* 1 when the file holds the run's exit record */
	int exit_code;       /* RunExitRecord.exit_code (1: the script raised) */
	int runtime;         /* RunExitRecord.runtime, seconds */
	int has_footer;      /* 1 when the file ends with wandb's footer record
			      * (the run was finished cleanly) */
	size_t records;      /* intact records decoded (any type) */
	int64_t damage_offset; /* byte offset of the first damage, -1 if none */
	char warning[512];   /* "" or the one warning about this file, e.g.
			      * "'run-x.wandb': torn record at byte 100003 (a
			      * killed run?): ignored the rest, 183 records read" */
};
#define SW_WANDB_RUNFILE_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
			    NULL, 0, 0, 0, 0, 0, -1, { 0 } }

/* Frees what the struct owns and resets it to SW_WANDB_RUNFILE_INIT. Accepts
 * NULL and a zeroed or SW_WANDB_RUNFILE_INIT struct. */
void sw_wandb_runfile_release(struct sw_wandb_runfile *run);

/* Reads and decodes the run file at path into *run (which must be released
 * or SW_WANDB_RUNFILE_INIT; it is released first). Returns 0 (check
 * run->warning: damage is not an error), or -1 with err set when the file
 * cannot be read or is not a wandb run file (bad magic): then *run is left
 * released. An empty file (wandb had not written its first block yet) is 0
 * with no records and a warning. */
int sw_wandb_runfile_read(const char *path, struct sw_wandb_runfile *run,
			  struct sw_err *err);

/* The same over bytes already in memory; name is used in the messages
 * (borrowed). */
int sw_wandb_runfile_parse(const void *data, size_t size, const char *name,
			   struct sw_wandb_runfile *run, struct sw_err *err);

/* In a wandb offline run directory (".../offline-run-DATE-ID"), finds its
 * run file "run-ID.wandb" (any "*.wandb"; the first by name if several).
 * Returns 0 with *path a new string the caller
 * frees, or -1 with err set (none there, or unreadable directory). */
int sw_wandb_runfile_find(const char *dir, char **path, struct sw_err *err);

/* Every run file under dir, in wandb's layouts: dir is an offline-run
 * directory (holds a "*.wandb" file), else a wandb/ folder (its
 * offline-run-* and run-* directories; the latest-run link is not one),
 * else a WANDB_DIR (the same in dir/wandb). A script that called
 * wandb.init() twice left two. Returns 0 with *paths a new NULL-terminated
 * array (free it with sw_wandb_runfiles_free) of *n paths in the order of
 * their directories' names (wandb's names sort by start time), or -1 with
 * err set when dir holds none or cannot be read. */
int sw_wandb_runfiles_list(const char *dir, char ***paths, size_t *n,
			   struct sw_err *err);

/* Frees an array from sw_wandb_runfiles_list; accepts NULL. */
void sw_wandb_runfiles_free(char **paths);

/* Decodes one value_json text (len bytes, need not be NUL-terminated) as
 * described above into a new reference *out. Returns 0, or -1 when it is
 * not JSON (then *out is NULL). */
int sw_wandb_json_parse(const char *text, size_t len, json_t **out);

/* A new object with the members of row, nested objects flattened to
 * "a.b" keys as the wandb UI shows them (`{"val": {"loss": 2}}` gives
 * "val.loss"). Media objects (with a "_type" member) are kept whole under
 * their key. Returns NULL on OOM. */
json_t *sw_wandb_row_flatten(const json_t *row);

/* A value usable as a metric: an integer, a real, or one of the strings
 * "NaN", "Infinity", "-Infinity" (booleans, other strings, null, lists
 * and objects are not). Returns 1 with *out set, or 0. */
int sw_wandb_value_number(const json_t *v, double *out);

/* The inverse: v as a JSON real, or as the string "NaN", "Infinity" or
 * "-Infinity" (JSON has no non-finite numbers). NULL on OOM. */
json_t *sw_wandb_number_json(double v);

#endif
