/* checkpoint.c - a trainer's state between epochs as one self-checking
 * file; see include/trainer/checkpoint.h */
#include "trainer/checkpoint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/durable.h"
#include "base/file.h"
#include "trainer/md5.h"

static const char MAGIC[8] = { 'S', 'W', 'C', 'K', 'P', 'T', '\r', '\n' };

/* ==== Encoding ==== */

static json_t *metrics_json(const struct cnn_epoch_metrics *m)
{
	return json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
			 "epoch", m->epoch, "epochs", m->epochs, "loss", m->loss,
			 "accuracy", m->accuracy, "val_loss", m->val_loss,
			 "val_accuracy", m->val_accuracy, "learning_rate",
			 m->learning_rate, "images_per_sec", m->images_per_sec,
			 "seconds", m->seconds);
}

/* The JSON part: what identifies the run and the small counters. */
static json_t *header_json(const struct cnn_trainer *t, const json_t *note)
{
	const struct cnn_net *net = &t->model.net;
	json_t *h = json_pack("{s:o, s:i, s:i, s:I, s:I, s:i, s:I, s:i, s:o}",
			      "hparams", cnn_hparams_to_json(&t->model.hp),
			      "train_n", t->train.n, "val_n", t->val.n,
			      "n_params", (json_int_t)net->n_params,
			      "n_stats", (json_int_t)net->n_stats,
			      "epochs_done", t->epochs_done,
			      "step", (json_int_t)t->step, "threads", t->threads,
			      "last", metrics_json(&t->last));

	if (h && note && json_object_set(h, "note", (json_t *)note) < 0) {
		json_decref(h);
		return NULL;
	}
	return h;
}

static unsigned char *put(unsigned char *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

int cnn_checkpoint_encode(const struct cnn_trainer *t, const json_t *note,
			  void **out, size_t *len, struct sw_err *err)
{
	const struct cnn_net *net = &t->model.net;
	size_t np = net->n_params * sizeof(float), ns = net->n_stats * sizeof(float);
	json_t *h = header_json(t, note);
	char *text = h ? json_dumps(h, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	uint32_t version = CNN_CHECKPOINT_VERSION, jlen;
	unsigned char *buf = NULL, *p;
	struct cnn_md5 md5;
	size_t total;

	json_decref(h);
	*out = NULL;
	if (!text)
		return sw_errorf(err, "out of memory encoding a checkpoint");
	if (cnn_md5_load(err) < 0) {
		free(text);
		return -1;
	}
	jlen = (uint32_t)strlen(text);
	total = sizeof(MAGIC) + 8 + jlen + 16 + 3 * np + ns + 16;
	buf = malloc(total);
	if (!buf) {
		free(text);
		return sw_errorf(err, "out of memory encoding a checkpoint (%zu bytes)", total);
	}
	p = put(buf, MAGIC, sizeof(MAGIC));
	p = put(p, &version, 4);
	p = put(p, &jlen, 4);
	p = put(p, text, jlen);
	p = put(p, &t->rng.state, 8);
	p = put(p, &t->rng.inc, 8);
	p = put(p, net->params, np);
	p = put(p, net->stats, ns);
	p = put(p, t->opt_m, np);
	p = put(p, t->opt_v, np);
	cnn_md5_init(&md5);
	cnn_md5_update(&md5, buf, (size_t)(p - buf));
	cnn_md5_final(&md5, p);
	free(text);
	*out = buf;
	*len = total;
	return 0;
}

/* ==== Decoding ==== */

/* 0 when the header describes a run t can continue; else -1 with err. */
static int check_header(const struct cnn_trainer *t, const json_t *h,
			const char *name, struct sw_err *err)
{
	json_t *hp = cnn_hparams_to_json(&t->model.hp);
	int same = hp && json_equal(hp, json_object_get(h, "hparams"));
	json_int_t done = json_integer_value(json_object_get(h, "epochs_done"));

	json_decref(hp);
	if (!same)
		return sw_errorf(err, "checkpoint '%s' is for other hyperparameters", name);
	if (json_integer_value(json_object_get(h, "train_n")) != t->train.n ||
	    json_integer_value(json_object_get(h, "val_n")) != t->val.n)
		return sw_errorf(err, "checkpoint '%s' was trained on other data "
				 "(another number of images)", name);
	if (json_integer_value(json_object_get(h, "n_params")) !=
	    (json_int_t)t->model.net.n_params ||
	    json_integer_value(json_object_get(h, "n_stats")) !=
	    (json_int_t)t->model.net.n_stats)
		return sw_errorf(err, "checkpoint '%s' is for another network size", name);
	if (!json_is_integer(json_object_get(h, "step")) || done < 1 ||
	    done > t->model.hp.epochs || !json_is_object(json_object_get(h, "last")))
		return sw_errorf(err, "checkpoint '%s' has no valid epoch count", name);
	return 0;
}

static double num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static void metrics_from_json(struct cnn_epoch_metrics *m, const json_t *j)
{
	m->epoch = (int)json_integer_value(json_object_get(j, "epoch"));
	m->epochs = (int)json_integer_value(json_object_get(j, "epochs"));
	m->loss = num(j, "loss");
	m->accuracy = num(j, "accuracy");
	m->val_loss = num(j, "val_loss");
	m->val_accuracy = num(j, "val_accuracy");
	m->learning_rate = num(j, "learning_rate");
	m->images_per_sec = num(j, "images_per_sec");
	m->seconds = num(j, "seconds");
}

static const unsigned char *get(void *dst, const unsigned char *p, size_t n)
{
	memcpy(dst, p, n);
	return p + n;
}

int cnn_checkpoint_decode(struct cnn_trainer *t, const void *data, size_t len,
			  const char *name, json_t **note, struct sw_err *err)
{
	struct cnn_net *net = &t->model.net;
	size_t np = net->n_params * sizeof(float), ns = net->n_stats * sizeof(float);
	const unsigned char *p = data;
	unsigned char digest[16];
	struct cnn_md5 md5;
	uint32_t version, jlen;
	json_t *h = NULL;
	json_error_t jerr;
	int ret = -1;

	if (note)
		*note = NULL;
	if (cnn_md5_load(err) < 0)
		return -1;
	if (len < sizeof(MAGIC) + 8 || memcmp(p, MAGIC, sizeof(MAGIC)))
		return sw_errorf(err, "'%s' is not a sweep checkpoint", name);
	memcpy(&version, p + 8, 4);
	memcpy(&jlen, p + 12, 4);
	if (version != CNN_CHECKPOINT_VERSION)
		return sw_errorf(err, "checkpoint '%s' is from checkpoint version %u "
				 "(this sweep reads %d)", name, version,
				 CNN_CHECKPOINT_VERSION);
	if (len != sizeof(MAGIC) + 8 + (size_t)jlen + 16 + 3 * np + ns + 16)
		return sw_errorf(err, "checkpoint '%s' is torn or for another network "
				 "(%zu bytes)", name, len);
	cnn_md5_init(&md5);
	cnn_md5_update(&md5, data, len - 16);
	cnn_md5_final(&md5, digest);
	if (memcmp(digest, p + len - 16, 16))
		return sw_errorf(err, "checkpoint '%s' is torn or corrupt (checksum "
				 "mismatch)", name);
	p += 16;
	h = json_loadb((const char *)p, jlen, 0, &jerr);
	if (!json_is_object(h)) {
		sw_errorf(err, "checkpoint '%s' has a corrupt header (%s)", name, jerr.text);
		goto done;
	}
	if (check_header(t, h, name, err) < 0)
		goto done;
	p += jlen;
	p = get(&t->rng.state, p, 8);
	p = get(&t->rng.inc, p, 8);
	p = get(net->params, p, np);
	p = get(net->stats, p, ns);
	p = get(t->opt_m, p, np);
	get(t->opt_v, p, np);
	t->epochs_done = (int)json_integer_value(json_object_get(h, "epochs_done"));
	t->step = (long)json_integer_value(json_object_get(h, "step"));
	metrics_from_json(&t->last, json_object_get(h, "last"));
	if (note)
		*note = json_incref(json_object_get(h, "note"));
	ret = 0;
done:
	json_decref(h);
	return ret;
}

/* ==== Files ==== */

int cnn_checkpoint_save(const struct cnn_trainer *t, const json_t *note,
			const char *path, struct sw_err *err)
{
	void *buf = NULL;
	size_t len = 0;
	int ret;

	if (cnn_checkpoint_encode(t, note, &buf, &len, err) < 0)
		return -1;
	ret = sw_durable_replace(NULL, path, buf, len, err);
	free(buf);
	return ret;
}

int cnn_checkpoint_load(struct cnn_trainer *t, const char *path, json_t **note,
			struct sw_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int missing = 0, ret;

	if (note)
		*note = NULL;
	if (sw_read_file(path, 0, &data, &len, &missing, err) < 0)
		return -1;
	if (missing)
		return sw_errorf(err, "no checkpoint '%s'", path);
	ret = cnn_checkpoint_decode(t, data, len, path, note, err);
	free(data);
	return ret;
}
