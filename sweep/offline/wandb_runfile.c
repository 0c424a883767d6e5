/*
 * wandb_runfile.c - the reader of wandb's offline run files: see
 * include/sweep/offline/wandb_runfile.h for what it gives and how it treats damage.
 *
 * Three layers, bottom up: the log framing (blocks, fragments, CRC), a
 * minimal protobuf wire reader, and the decoding of the few Record kinds
 * sweep needs into jansson values. value_json decoding (Python's json.dumps
 * text) is at the end, with the helpers the callers use on the values.
 */
#include "sweep/offline/wandb_runfile.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"

/* ==== Log framing constants (wandb's variant of LevelDB's log) ==== */

#define BLOCK_SIZE 32768
#define FRAG_HEADER 7        /* crc32 (4), length (2), type (1) */
#define FILE_HEADER 7        /* ":W&B", magic 0xBEE1 LE, version */
#define FILE_VERSION 0

enum frag_type { FRAG_ZERO = 0, FRAG_FULL = 1, FRAG_FIRST = 2, FRAG_MIDDLE = 3,
		 FRAG_LAST = 4 };

/* Record field numbers (wandb_internal.proto). */
enum {
	REC_HISTORY = 2, REC_SUMMARY = 3, REC_CONFIG = 5, REC_ALERT = 10,
	REC_RUN = 17, REC_EXIT = 18, REC_FOOTER = 22
};

/* Deepest nested_key path accepted; wandb's nested summaries are a few
 * levels deep, and a bound keeps a hostile file from recursing far. */
#define MAX_NEST 32

/* ==== CRC-32 (IEEE, zlib's crc32) ==== */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
					  crc_table[0][crc_table[t - 1][i] & 0xff];
}

/* Continues crc over n bytes (slicing by 8: the 1.7 MB benchmark file
 * spends most of its framing time here). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
			      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* ==== Protobuf wire reader ==== */

struct pb {
	const uint8_t *p, *end;
};

static int pb_varint(struct pb *r, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		uint8_t b = *r->p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Reads the next field of a message: its number, wire type, and either its
 * scalar value (*v, wire types 0, 1, 5) or its bytes (*sub, wire type 2).
 * Returns 1, 0 at the end of the message, -1 when malformed (groups, the
 * deprecated wire types 3 and 4, are not written by any wandb). */
static int pb_next(struct pb *r, uint32_t *field, int *wire, uint64_t *v,
		   struct pb *sub)
{
	uint64_t tag, len;

	if (r->p >= r->end)
		return 0;
	if (pb_varint(r, &tag) < 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return -1;
	*field = (uint32_t)(tag >> 3);
	*wire = (int)(tag & 7);
	switch (*wire) {
	case 0:
		return pb_varint(r, v) < 0 ? -1 : 1;
	case 1:
	case 5: {
		size_t n = *wire == 1 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return -1;
		*v = 0;
		for (size_t i = 0; i < n; i++)
			*v |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 1;
	}
	case 2:
		if (pb_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
			return -1;
		sub->p = r->p;
		sub->end = r->p + len;
		r->p += len;
		return 1;
	default:
		return -1;
	}
}

/* A protobuf string field as a new C string; NULL when it is not valid
 * UTF-8 or holds a NUL (then the record is treated as malformed) or on
 * OOM. */
static char *pb_strdup(struct pb s)
{
	size_t n = (size_t)(s.end - s.p);
	json_t *check;
	char *out;

	if (memchr(s.p, 0, n))
		return NULL;
	check = json_stringn((const char *)s.p, n);   /* validates UTF-8 */
	if (!check)
		return NULL;
	json_decref(check);
	out = malloc(n + 1);
	if (!out)
		return NULL;
	memcpy(out, s.p, n);
	out[n] = '\0';
	return out;
}

/* ==== Items: HistoryItem / SummaryItem / ConfigItem ==== */

/* One decoded item: where it goes (a key path) and its value (owned), or
 * a removal (value NULL). Key slices point into the record being decoded. */
struct item_op {
	const char *keys[MAX_NEST];
	size_t key_lens[MAX_NEST];
	size_t depth;
	json_t *value;
};

struct item_ops {
	struct item_op *v;
	size_t n, alloc;
};

/* Empties ops, keeping its memory: one array serves every record of a
 * file (a fresh multi-KiB array per record made malloc consolidate its
 * free lists each time, 15% of the decode). */
static void item_ops_clear(struct item_ops *ops)
{
	for (size_t i = 0; i < ops->n; i++)
		json_decref(ops->v[i].value);
	ops->n = 0;
}

static void item_ops_release(struct item_ops *ops)
{
	item_ops_clear(ops);
	free(ops->v);
	ops->v = NULL;
	ops->alloc = 0;
}

/* Decodes one item message ({key=1, nested_key=2, value_json=16}) and
 * appends it to ops; with want_value 0 (a removal) value_json is ignored.
 * The path is nested_key when given, else key. */
static int decode_item(struct pb msg, int want_value, struct item_ops *ops)
{
	struct item_op op = { .depth = 0 };
	struct pb sub, key = { NULL, NULL }, value = { NULL, NULL };
	uint32_t f;
	int wire, rc, has_key = 0, has_value = 0;
	uint64_t v;

	while ((rc = pb_next(&msg, &f, &wire, &v, &sub)) > 0) {
		if (f == 1 || f == 2 || f == 16) {
			if (wire != 2)
				return -1;
		}
		if (f == 1) {
			key = sub;
			has_key = 1;
		} else if (f == 2) {
			if (op.depth == MAX_NEST)
				return -1;
			op.keys[op.depth] = (const char *)sub.p;
			op.key_lens[op.depth++] = (size_t)(sub.end - sub.p);
		} else if (f == 16) {
			value = sub;
			has_value = 1;
		}
	}
	if (rc < 0)
		return -1;
	if (op.depth == 0) {
		if (!has_key)
			return -1;
		op.keys[0] = (const char *)key.p;
		op.key_lens[0] = (size_t)(key.end - key.p);
		op.depth = 1;
	}
	if (want_value) {
		if (!has_value || sw_wandb_json_parse((const char *)value.p,
				(size_t)(value.end - value.p), &op.value) < 0)
			return -1;
	}
	if (ops->n == ops->alloc) {
		size_t alloc = ops->alloc ? 2 * ops->alloc : 16;
		struct item_op *grown = realloc(ops->v, alloc * sizeof(*grown));
		if (!grown) {
			json_decref(op.value);
			return -1;
		}
		ops->v = grown;
		ops->alloc = alloc;
	}
	ops->v[ops->n++] = op;
	return 0;
}

/* Applies one op to obj: sets (creating intermediate objects, replacing
 * non-objects on the way, as Python's nested dict update does) or removes
 * the value at its path. Takes the op's value. */
static int apply_op(json_t *obj, struct item_op *op)
{
	json_t *value = op->value;

	op->value = NULL;
	for (size_t i = 0; i + 1 < op->depth; i++) {
		json_t *child = json_object_getn(obj, op->keys[i], op->key_lens[i]);
		if (!json_is_object(child)) {
			if (!value)
				return 0;       /* nothing to remove */
			child = json_object();
			if (json_object_setn_new(obj, op->keys[i], op->key_lens[i],
						 child) < 0) {
				json_decref(value);
				return -1;
			}
		}
		obj = child;
	}
	if (!value) {
		json_object_deln(obj, op->keys[op->depth - 1],
				 op->key_lens[op->depth - 1]);
		return 0;
	}
	/* checks the key is UTF-8 (a corrupt key is refused, not stored) */
	return json_object_setn_new(obj, op->keys[op->depth - 1],
				    op->key_lens[op->depth - 1], value);
}

static int apply_ops(json_t *obj, struct item_ops *ops)
{
	int ret = 0;
	for (size_t i = 0; i < ops->n; i++)
		if (apply_op(obj, &ops->v[i]) < 0)
			ret = -1;
	return ret;
}

/* Decodes a SummaryRecord or ConfigRecord ({update=1, remove=2}) and
 * applies it to *target (created when NULL). All or nothing: a malformed
 * message changes nothing. */
static int decode_updates(struct pb msg, struct item_ops *ops, json_t **target)
{
	struct pb sub;
	uint32_t f;
	int wire, rc, ret = -1;
	uint64_t v;

	while ((rc = pb_next(&msg, &f, &wire, &v, &sub)) > 0) {
		if (f != 1 && f != 2)
			continue;
		if (wire != 2 || decode_item(sub, f == 1, ops) < 0)
			goto done;
	}
	if (rc < 0)
		goto done;
	if (!*target && !(*target = json_object()))
		goto done;
	ret = apply_ops(*target, ops);
done:
	item_ops_clear(ops);
	return ret;
}

/* ==== Records ==== */

/* The state of one read: the file, what is decoded so far, and the first
 * damage (for the one warning). */
struct reader {
	const char *name;
	const uint8_t *data;
	size_t size;
	struct sw_wandb_runfile *run;
	struct sw_buf rec;          /* a record being joined from fragments */
	struct item_ops ops;        /* the items of the record being decoded */
	int pending;                /* rec holds a FIRST (+ MIDDLEs) */
	size_t pending_at;          /* offset of that FIRST fragment */
	char first_damage[400];     /* what the first damage was */
	size_t n_damage;            /* damaged places in all */
};

static void damage(struct reader *r, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void damage(struct reader *r, size_t at, const char *fmt, ...)
{
	va_list ap;

	if (r->n_damage++ > 0)
		return;
	r->run->damage_offset = (int64_t)at;
	va_start(ap, fmt);
	vsnprintf(r->first_damage, sizeof(r->first_damage), fmt, ap);
	va_end(ap);
}

static int decode_history(struct reader *r, struct pb msg)
{
	struct item_ops *ops = &r->ops;
	struct pb sub, step_msg;
	uint32_t f, sf;
	int wire, swire, rc, has_step = 0, ret = -1;
	uint64_t v, step = 0;
	json_t *row = NULL;

	while ((rc = pb_next(&msg, &f, &wire, &v, &sub)) > 0) {
		if (f == 1) {
			if (wire != 2 || decode_item(sub, 1, ops) < 0)
				goto done;
		} else if (f == 2) {            /* HistoryStep {num = 1} */
			if (wire != 2)
				goto done;
			step_msg = sub;
			while ((rc = pb_next(&step_msg, &sf, &swire, &v, &sub)) > 0)
				if (sf == 1 && swire == 0) {
					step = v;
					has_step = 1;
				}
			if (rc < 0)
				goto done;
		}
	}
	if (rc < 0 || !(row = json_object()) || apply_ops(row, ops) < 0)
		goto done;
	/* Every wandb writes the _step item; the step message is the fallback
	 * (the Python service leaves it 0, so it never overrides the item). */
	if (has_step && !json_object_get(row, "_step") &&
	    json_object_set_new(row, "_step", json_integer((json_int_t)step)) < 0)
		goto done;
	if (json_array_append_new(r->run->history, row) < 0) {
		row = NULL;
		goto done;
	}
	row = NULL;
	ret = 0;
done:
	json_decref(row);
	item_ops_clear(ops);
	return ret;
}

/* Replaces *slot by the string field s; -1 when it is not text. */
static int set_string(char **slot, struct pb s)
{
	char *copy = pb_strdup(s);
	if (!copy)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

/* RunRecord: run_id 1, entity 2, project 3, config 4, summary 5,
 * display_name 8, sweep_id 12. Fields are applied as they come; a malformed
 * one stops the decoding (the fields before it stay). */
static int decode_run(struct reader *r, struct pb msg)
{
	struct sw_wandb_runfile *run = r->run;
	struct pb sub;
	uint32_t f;
	int wire, rc;
	uint64_t v;
	char **slot;

	while ((rc = pb_next(&msg, &f, &wire, &v, &sub)) > 0) {
		switch (f) {
		case 1: slot = &run->run_id; break;
		case 2: slot = &run->entity; break;
		case 3: slot = &run->project; break;
		case 8: slot = &run->display_name; break;
		case 12: slot = &run->sweep_id; break;
		case 4:
		case 5:
			if (wire != 2 || decode_updates(sub, &r->ops, f == 4 ? &run->config
							: &run->summary) < 0)
				return -1;
			continue;
		default:
			continue;
		}
		if (wire != 2 || set_string(slot, sub) < 0)
			return -1;
	}
	/* protobuf leaves empty strings out; wandb reads them as "" */
	char **slots[] = { &run->run_id, &run->entity, &run->project,
			   &run->display_name, &run->sweep_id };
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (!*slots[i] && !(*slots[i] = strdup("")))
			return -1;
	return rc;
}

static int decode_exit(struct reader *r, struct pb msg)
{
	struct pb sub;
	uint32_t f;
	int wire, rc, code = 0, runtime = 0;
	uint64_t v;

	while ((rc = pb_next(&msg, &f, &wire, &v, &sub)) > 0) {
		if ((f == 1 || f == 2) && wire != 0)
			return -1;
		/* int32 fields: negative values are sign-extended varints */
		if (f == 1)
			code = (int)(int32_t)(uint32_t)v;
		else if (f == 2)
			runtime = (int)(int32_t)(uint32_t)v;
	}
	if (rc < 0)
		return -1;
	r->run->has_exit = 1;
	r->run->exit_code = code;
	r->run->runtime = runtime;
	return 0;
}

/* AlertRecord: title 1, text 2, level 3 (strings). */
static int decode_alert(struct reader *r, struct pb msg)
{
	static const char *const names[] = { NULL, "title", "text", "level" };
	struct pb sub;
	uint32_t f;
	int wire, rc;
	uint64_t v;
	json_t *alert = json_pack("{s:s, s:s, s:s}", "title", "", "text", "",
				  "level", "");

	if (!alert)
		return -1;
	while ((rc = pb_next(&msg, &f, &wire, &v, &sub)) > 0) {
		json_t *s;
		if (f < 1 || f > 3)
			continue;
		if (wire != 2 ||
		    !(s = json_stringn((const char *)sub.p, (size_t)(sub.end - sub.p))) ||
		    json_object_set_new(alert, names[f], s) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc < 0 || json_array_append_new(r->run->alerts, alert) < 0) {
		if (rc < 0)
			json_decref(alert);
		return -1;
	}
	return 0;
}

static const char *record_kind(uint32_t type)
{
	switch (type) {
	case REC_HISTORY: return "history";
	case REC_SUMMARY: return "summary";
	case REC_CONFIG: return "config";
	case REC_ALERT: return "alert";
	case REC_RUN: return "run";
	case REC_EXIT: return "exit";
	default: return "a";
	}
}

/* The members of Record's record_type oneof (wandb_internal.proto). */
static int is_record_kind(uint32_t f)
{
	return (f >= 2 && f <= 13) || f == 17 || f == 18 ||
	       (f >= 20 && f <= 25) || f == 100;
}

/* One whole record (the data of a FULL fragment or of joined fragments)
 * that started at byte `at`. */
static void decode_record(struct reader *r, const uint8_t *p, size_t n,
			  size_t at)
{
	struct pb msg = { p, p + n }, sub, body = { p, p };
	uint32_t f, type = 0;
	int wire, rc, ok = 0, body_wire = 2;
	uint64_t v;

	/* The record's kind is its last oneof field (protobuf's rule). A field
	 * this reader does not know may be a newer SDK's plain field as well as
	 * a new kind, so it never hides a known kind. */
	while ((rc = pb_next(&msg, &f, &wire, &v, &sub)) > 0) {
		if (!is_record_kind(f))
			continue;
		type = f;
		body_wire = wire;
		body = wire == 2 ? sub : (struct pb){ p, p };
	}
	if (body_wire != 2 && type != 0 && strcmp(record_kind(type), "a"))
		rc = -1;                /* a message of ours as a scalar */
	if (rc < 0) {
		damage(r, at, "a record that is not a wandb record at byte %zu", at);
		return;
	}
	switch (type) {
	case REC_HISTORY: ok = decode_history(r, body); break;
	case REC_SUMMARY: ok = decode_updates(body, &r->ops, &r->run->summary); break;
	case REC_CONFIG: ok = decode_updates(body, &r->ops, &r->run->config); break;
	case REC_ALERT: ok = decode_alert(r, body); break;
	case REC_RUN: ok = decode_run(r, body); break;
	case REC_EXIT: ok = decode_exit(r, body); break;
	case REC_FOOTER: r->run->has_footer = 1; break;
	default: break;   /* kinds sweep does not use, and newer kinds */
	}
	if (ok < 0) {
		damage(r, at, "a malformed %s record at byte %zu", record_kind(type), at);
		return;
	}
	r->run->records++;
}

/* ==== Framing ==== */

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void drop_pending(struct reader *r)
{
	r->pending = 0;
	sw_buf_reset(&r->rec);
}

/* Handles one intact fragment. */
static void fragment(struct reader *r, int type, const uint8_t *data,
		     size_t len, size_t at)
{
	if ((type == FRAG_FULL || type == FRAG_FIRST) && r->pending) {
		damage(r, r->pending_at, "a record without its end at byte %zu",
		       r->pending_at);
		drop_pending(r);
	}
	if ((type == FRAG_MIDDLE || type == FRAG_LAST) && !r->pending) {
		damage(r, at, "a record without its start at byte %zu", at);
		return;
	}
	if (type == FRAG_FULL) {
		decode_record(r, data, len, at);
		return;
	}
	if (type == FRAG_FIRST) {
		r->pending = 1;
		r->pending_at = at;
	}
	if (sw_buf_append(&r->rec, data, len) < 0) {
		damage(r, r->pending_at, "a record too large for memory at byte %zu",
		       r->pending_at);
		drop_pending(r);
		return;
	}
	if (type == FRAG_LAST) {
		decode_record(r, (const uint8_t *)r->rec.data, r->rec.len,
			      r->pending_at);
		drop_pending(r);
	}
}

/* Walks the fragments from the end of the file header to the end. */
static void read_log(struct reader *r)
{
	size_t pos = FILE_HEADER;

	pthread_once(&crc_once, crc_init);
	while (pos < r->size) {
		size_t left = BLOCK_SIZE - pos % BLOCK_SIZE;
		size_t avail = r->size - pos;
		uint32_t crc, len;
		int type;

		if (left < FRAG_HEADER) {       /* block trailer: padding */
			pos += left;
			continue;
		}
		if (avail < FRAG_HEADER) {
			if (!all_zero(r->data + pos, avail) || r->pending)
				break;                  /* torn: reported below */
			return;
		}
		crc = le32(r->data + pos);
		len = (uint32_t)r->data[pos + 4] | (uint32_t)r->data[pos + 5] << 8;
		type = r->data[pos + 6];
		if (type == FRAG_ZERO && len == 0 && crc == 0) {
			pos += left;            /* zeros to the end of the block */
			continue;
		}
		if (FRAG_HEADER + len > left || type < FRAG_FULL || type > FRAG_LAST) {
			if (FRAG_HEADER + len <= left && FRAG_HEADER + len > avail)
				break;          /* torn inside the data */
			damage(r, pos, "corrupt data at byte %zu (bad record %s)",
			       pos, FRAG_HEADER + len > left ? "length" : "type");
			drop_pending(r);
			pos += left;
			continue;
		}
		if (FRAG_HEADER + len > avail)
			break;                  /* torn: reported below */
		uint8_t t = (uint8_t)type;
		if (crc32_update(crc32_update(0, &t, 1), r->data + pos + FRAG_HEADER,
				 len) != crc) {
			damage(r, pos, "corrupt data at byte %zu (bad checksum)", pos);
			drop_pending(r);
			pos += left;
			continue;
		}
		fragment(r, type, r->data + pos + FRAG_HEADER, len, pos);
		pos += FRAG_HEADER + len;
	}
	if (pos >= r->size && !r->pending)
		return;
	/* The file ends inside a record: a killed run (or a cut copy). */
	size_t at = r->pending ? r->pending_at : pos;
	damage(r, at, "the file ends inside a record at byte %zu (the run was "
	       "killed or the file cut): ignored that record", at);
	drop_pending(r);
}

/* ==== Public: reading ==== */

void sw_wandb_runfile_release(struct sw_wandb_runfile *run)
{
	if (!run)
		return;
	free(run->run_id);
	free(run->project);
	free(run->entity);
	free(run->display_name);
	free(run->sweep_id);
	json_decref(run->config);
	json_decref(run->history);
	json_decref(run->summary);
	json_decref(run->alerts);
	*run = (struct sw_wandb_runfile)SW_WANDB_RUNFILE_INIT;
}

int sw_wandb_runfile_parse(const void *data, size_t size, const char *name,
			   struct sw_wandb_runfile *run, struct sw_err *err)
{
	static const uint8_t magic[6] = { ':', 'W', '&', 'B', 0xE1, 0xBE };
	struct reader r = { .name = name, .data = data, .size = size, .run = run };

	sw_wandb_runfile_release(run);
	if (!(run->config = json_object()) || !(run->history = json_array()) ||
	    !(run->summary = json_object()) || !(run->alerts = json_array())) {
		sw_wandb_runfile_release(run);
		return sw_errorf(err, "out of memory reading '%s'", name);
	}
	if (size == 0) {
		snprintf(run->warning, sizeof(run->warning), "'%s' is empty: no "
			 "records (wandb writes the file when the run ends or a "
			 "32 KiB block fills)", name);
		return 0;
	}
	if (memcmp(data, magic, size < sizeof(magic) ? size : sizeof(magic))) {
		sw_wandb_runfile_release(run);
		return sw_errorf(err, "'%s' is not a wandb run file (no ':W&B' "
				 "header); give a run-ID.wandb file or its "
				 "offline-run directory", name);
	}
	if (size < FILE_HEADER) {
		damage(&r, 0, "the file ends inside its header");
	} else {
		if (r.data[6] != FILE_VERSION)
			damage(&r, 6, "unknown format version %d at byte 6 (read "
			       "as version %d)", r.data[6], FILE_VERSION);
		read_log(&r);
	}
	sw_buf_release(&r.rec);
	item_ops_release(&r.ops);
	if (r.n_damage)
		snprintf(run->warning, sizeof(run->warning),
			 "'%s': %s; %zu records read%s", name, r.first_damage,
			 run->records, r.n_damage > 1 ? ", other damage skipped too" : "");
	return 0;
}

int sw_wandb_runfile_read(const char *path, struct sw_wandb_runfile *run,
			  struct sw_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int ret;

	sw_wandb_runfile_release(run);
	if (sw_read_file(path, 0, &data, &len, NULL, err) < 0)
		return -1;
	ret = sw_wandb_runfile_parse(data, len, path, run, err);
	free(data);
	return ret;
}

/* "run-ID.wandb" as wandb names it; any "*.wandb" a user renamed it to */
static int is_runfile_name(const char *name)
{
	size_t n = strlen(name);
	return n > 6 && name[0] != '.' && !strcmp(name + n - 6, ".wandb");
}

int sw_wandb_runfile_find(const char *dir, char **path, struct sw_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *best = NULL;

	*path = NULL;
	if (!d)
		return sw_errorf(err, "unable to open directory '%s': %s", dir,
				 strerror(errno));
	/* one per directory; if a copy left several, take the first by name
	 * so the choice does not depend on the file system's order */
	while ((e = readdir(d))) {
		if (!is_runfile_name(e->d_name))
			continue;
		if (!best || strcmp(e->d_name, best) < 0) {
			char *copy = strdup(e->d_name);
			if (!copy) {
				free(best);
				closedir(d);
				return sw_errorf(err, "out of memory");
			}
			free(best);
			best = copy;
		}
	}
	closedir(d);
	if (!best)
		return sw_errorf(err, "no wandb run file (run-ID.wandb) in '%s'", dir);
	size_t n = strlen(dir) + strlen(best) + 2;
	*path = malloc(n);
	if (*path)
		snprintf(*path, n, "%s/%s", dir, best);
	free(best);
	return *path ? 0 : sw_errorf(err, "out of memory");
}

void sw_wandb_runfiles_free(char **paths)
{
	for (size_t i = 0; paths && paths[i]; i++)
		free(paths[i]);
	free(paths);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the run files of dir's offline-run-* / run-* subdirectories
 * (sorted) to *paths (NULL-terminated, *n entries). */
static int list_run_dirs(const char *dir, char ***paths, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, **grown;
	size_t count = 0;
	int ret = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "offline-run-", 12) && strncmp(e->d_name, "run-", 4))
			continue;
		grown = realloc(names, (count + 1) * sizeof(*names));
		if (!grown || !(grown[count] = strdup(e->d_name))) {
			names = grown ? grown : names;
			ret = -1;
			break;
		}
		names = grown;
		count++;
	}
	closedir(d);
	if (names)
		qsort(names, count, sizeof(*names), cmp_str);
	for (size_t i = 0; i < count && ret == 0; i++) {
		size_t len = strlen(dir) + strlen(names[i]) + 2;
		char *sub = malloc(len), *file = NULL;
		if (!sub) {
			ret = -1;
			break;
		}
		snprintf(sub, len, "%s/%s", dir, names[i]);
		if (sw_wandb_runfile_find(sub, &file, NULL) == 0) {
			grown = realloc(*paths, (*n + 2) * sizeof(**paths));
			if (!grown) {
				free(file);
				ret = -1;
			} else {
				*paths = grown;
				(*paths)[(*n)++] = file;
				(*paths)[*n] = NULL;
			}
		}
		free(sub);
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return ret;
}

int sw_wandb_runfiles_list(const char *dir, char ***paths, size_t *n,
			   struct sw_err *err)
{
	char *file = NULL, *sub = NULL;
	DIR *d = opendir(dir);

	*paths = NULL;
	*n = 0;
	if (!d)
		return sw_errorf(err, "unable to open directory '%s': %s", dir,
				 strerror(errno));
	closedir(d);
	if (sw_wandb_runfile_find(dir, &file, NULL) == 0) {
		*paths = calloc(2, sizeof(**paths));
		if (!*paths) {
			free(file);
			return sw_errorf(err, "out of memory");
		}
		(*paths)[0] = file;
		*n = 1;
		return 0;
	}
	if (list_run_dirs(dir, paths, n) < 0)
		goto oom;
	if (*n == 0) {
		size_t len = strlen(dir) + sizeof("/wandb");
		if (!(sub = malloc(len)))
			goto oom;
		snprintf(sub, len, "%s/wandb", dir);
		if (list_run_dirs(sub, paths, n) < 0)
			goto oom;
		free(sub);
	}
	if (*n == 0)
		return sw_errorf(err, "no wandb runs in '%s' (looked for *.wandb files in "
				 "it, in its offline-run-* directories and in its wandb/ "
				 "folder)", dir);
	return 0;
oom:
	free(sub);
	sw_wandb_runfiles_free(*paths);
	*paths = NULL;
	*n = 0;
	return sw_errorf(err, "out of memory");
}

/* ==== value_json: Python json.dumps text ==== */

/* A JSON number token starting at s (at most n bytes): its length, or 0
 * when s does not start with one. *integer says it has no fraction or
 * exponent. */
static size_t number_token(const char *s, size_t n, int *integer)
{
	size_t i = 0;

	*integer = 1;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i] == '0')
		i++;
	else
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
		*integer = 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return 0;
		*integer = 0;
	}
	return i;
}

/* Clinger's fast path for a valid number token: when its decimal
 * mantissa fits in 53 bits and the power of ten is exact (|e| <= 22), one
 * correctly rounded multiply or divide gives the exact double, as strtod
 * would (most of Python's 16-digit reprs qualify; strtod was a tenth of
 * the decode). Returns 1 with *out, or 0 to leave it to strtod. */
static int fast_decimal(const char *s, size_t n, double *out)
{
	static const double p10[23] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
	};
	const uint64_t limit = (uint64_t)1 << 53;
	uint64_t m = 0;
	long e = 0, ex = 0;
	int neg = 0, eneg = 0;
	size_t i = 0;
	double d;

	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (m > (limit - 9) / 10)
			return 0;
		m = m * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, e--) {
			if (m > (limit - 9) / 10)
				return 0;
			m = m * 10 + (uint64_t)(s[i] - '0');
		}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (ex > 100000)
				return 0;
			ex = ex * 10 + (s[i] - '0');
		}
		e += eneg ? -ex : ex;
	}
	if (e < -22 || e > 22)
		return 0;
	d = (double)m;
	d = e < 0 ? d / p10[-e] : d * p10[e];
	*out = neg ? -d : d;
	return 1;
}

/* The value of a number token of n bytes: an integer when it is one and
 * fits int64, else a real; an overflowing real is +-Infinity. */
static json_t *number_value(const char *s, size_t n, int integer)
{
	char small[64], *tmp = small, *end;
	json_t *v;
	double d;

	if (!integer && fast_decimal(s, n, &d))
		return json_real(d);
	/* strtod needs a terminated copy; Python's huge ints can be long */
	if (n >= sizeof(small) && !(tmp = malloc(n + 1)))
		return NULL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	long long ll = integer ? strtoll(tmp, &end, 10) : 0;
	if (integer && errno == 0) {
		v = json_integer((json_int_t)ll);
	} else {
		d = strtod(tmp, &end);
		v = isinf(d) ? json_string(d > 0 ? "Infinity" : "-Infinity")
			     : json_real(d);
	}
	if (tmp != small)
		free(tmp);
	return v;
}

static int token_is(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	return n >= w && !memcmp(s, word, w);
}

/* Non-finite tokens as the store writes them. */
static const char *nonfinite_token(const char *s, size_t n, size_t *len)
{
	static const char *const words[] = { "NaN", "Infinity", "-Infinity" };
	for (size_t i = 0; i < 3; i++)
		if (token_is(s, n, words[i])) {
			*len = strlen(words[i]);
			return words[i];
		}
	return NULL;
}

/* The scalars wandb writes for nearly every item, without jansson's
 * parser: a number, a non-finite token, true/false/null, a plain string.
 * Returns NULL when text is something else (or on OOM). */
static json_t *parse_scalar(const char *s, size_t n)
{
	int integer;
	size_t len;
	const char *word;

	if (number_token(s, n, &integer) == n)
		return number_value(s, n, integer);
	if ((word = nonfinite_token(s, n, &len)) && len == n)
		return json_string(word);
	if (n == 4 && !memcmp(s, "true", 4))
		return json_true();
	if (n == 5 && !memcmp(s, "false", 5))
		return json_false();
	if (n == 4 && !memcmp(s, "null", 4))
		return json_null();
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		for (size_t i = 1; i + 1 < n; i++)
			if (s[i] == '\\' || s[i] == '"' || (unsigned char)s[i] < 0x20)
				return NULL;
		return json_stringn(s + 1, n - 2);
	}
	return NULL;
}

/* Rewrites Python's JSON into standard JSON for jansson: the non-finite
 * tokens outside strings become strings, integers beyond int64 and reals
 * beyond double become what number_value makes of them. */
static int rewrite_python_json(const char *s, size_t n, struct sw_buf *out)
{
	size_t i = 0;

	while (i < n) {
		char c = s[i];
		size_t len;
		int integer;
		const char *word;

		if (c == '"') {                 /* copy a string verbatim */
			size_t j = i + 1;
			while (j < n && s[j] != '"')
				j += s[j] == '\\' ? 2 : 1;
			if (j >= n)
				return -1;
			if (sw_buf_append(out, s + i, j + 1 - i) < 0)
				return -1;
			i = j + 1;
		} else if ((word = nonfinite_token(s + i, n - i, &len))) {
			if (sw_buf_appendf(out, "\"%s\"", word) < 0)
				return -1;
			i += len;
		} else if ((len = number_token(s + i, n - i, &integer)) > 0) {
			json_t *v = number_value(s + i, len, integer);
			char *text = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)) : NULL;
			int rc = text ? sw_buf_append(out, text, strlen(text)) : -1;
			free(text);
			json_decref(v);
			if (rc < 0)
				return -1;
			i += len;
		} else {
			if (sw_buf_append(out, &c, 1) < 0)
				return -1;
			i++;
		}
	}
	return 0;
}

int sw_wandb_json_parse(const char *text, size_t len, json_t **out)
{
	struct sw_buf std = SW_BUF_INIT;
	json_error_t jerr;

	*out = NULL;
	while (len && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')) {
		text++;
		len--;
	}
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
		       text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == 0)
		return -1;
	if ((*out = parse_scalar(text, len)))
		return 0;
	if (rewrite_python_json(text, len, &std) == 0 && std.data)
		*out = json_loadb(std.data, std.len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
				  &jerr);
	sw_buf_release(&std);
	return *out ? 0 : -1;
}

/* ==== Values for metrics ==== */

static int flatten_into(json_t *out, struct sw_buf *name, const json_t *obj)
{
	const char *key;
	json_t *v;
	size_t base = name->len;

	json_object_foreach((json_t *)obj, key, v) {
		name->len = base;
		if ((base && sw_buf_append(name, ".", 1) < 0) ||
		    sw_buf_append(name, key, strlen(key)) < 0)
			return -1;
		if (json_is_object(v) && !json_object_get(v, "_type")) {
			if (flatten_into(out, name, v) < 0)
				return -1;
		} else if (json_object_setn(out, name->data, name->len, v) < 0) {
			return -1;
		}
	}
	name->len = base;
	if (name->data)
		name->data[base] = '\0';
	return 0;
}

json_t *sw_wandb_row_flatten(const json_t *row)
{
	struct sw_buf name = SW_BUF_INIT;
	json_t *out = json_object();

	if (out && json_is_object(row) && flatten_into(out, &name, row) < 0) {
		json_decref(out);
		out = NULL;
	}
	sw_buf_release(&name);
	return out;
}

json_t *sw_wandb_number_json(double v)
{
	if (isnan(v))
		return json_string("NaN");
	if (isinf(v))
		return json_string(v > 0 ? "Infinity" : "-Infinity");
	return json_real(v);
}

int sw_wandb_value_number(const json_t *v, double *out)
{
	const char *s;

	if (json_is_integer(v) || json_is_real(v)) {
		*out = json_number_value(v);
		return 1;
	}
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	if (!strcmp(s, "NaN"))
		*out = NAN;
	else if (!strcmp(s, "Infinity"))
		*out = INFINITY;
	else if (!strcmp(s, "-Infinity"))
		*out = -INFINITY;
	else
		return 0;
	return 1;
}
