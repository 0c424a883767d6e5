/* model.c - a trained model: building it, evaluating it, and saving/loading
 * it as .safetensors (weights, BatchNorm moving statistics, transform
 * pipeline, hyperparameters). See include/trainer/train.h. */
#include "trainer/train.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainer/safetensors.h"

int cnn_model_init(struct cnn_model *m, const struct cnn_hparams *hp,
		   const struct cnn_pipeline *pipeline, int max_batch,
		   int threads, struct sw_err *err)
{
	struct cnn_net_config cfg;

	memset(m, 0, sizeof(*m));
	m->hp = *hp;
	m->pipeline = *pipeline;
	cnn_net_config_from_hparams(&cfg, hp);
	cfg.in_c = pipeline->in_c;
	cfg.in_size = cnn_pipeline_out_size(pipeline);
	if (cnn_net_init(&m->net, &cfg, max_batch, threads, err) < 0)
		return -1;
	cnn_net_init_weights(&m->net, sw_seed_derive(hp->seed, 1));
	m->ready = 1;
	return 0;
}

void cnn_model_release(struct cnn_model *m)
{
	if (!m)
		return;
	cnn_net_release(&m->net);
	memset(m, 0, sizeof(*m));
}

void cnn_model_evaluate(struct cnn_model *m, const struct cnn_split *s,
			double *loss, double *accuracy)
{
	struct cnn_net *net = &m->net;
	int B = net->max_batch, S = cnn_pipeline_out_size(&m->pipeline);
	size_t per = (size_t)m->pipeline.in_c * S * S;
	float *x = malloc(sizeof(float) * per * B);
	double lsum = 0;
	long ok = 0;

	if (!x) {
		fprintf(stderr, "sweep: error: out of memory for an evaluation batch\n");
		abort();
	}
	for (int i = 0; i < s->n; i += B) {
		int n = s->n - i < B ? s->n - i : B, correct = 0;
		struct cnn_split part = { n, s->pixels + (size_t)i * CNN_CIFAR_PIXELS,
					  s->labels + i };

		omp_set_num_threads(net->nthreads);
		cnn_pipeline_apply(&m->pipeline, x, &part, NULL, n, 0, NULL);
		cnn_net_forward(net, x, n, CNN_EVAL, 0);
		lsum += cnn_net_loss(net, part.labels, n, &correct, 0) * n;
		ok += correct;
	}
	free(x);
	*loss = s->n ? lsum / s->n : NAN;
	*accuracy = s->n ? (double)ok / s->n : NAN;
}

int cnn_model_save(const struct cnn_model *m, const char *path,
		   const json_t *extra, struct sw_err *err)
{
	const struct cnn_net *net = &m->net;
	struct cnn_st_tensor t[CNN_MAX_VIEWS];
	json_t *meta = json_object(), *pj = NULL, *hj = NULL;
	int ret = -1;

	if (!meta)
		return sw_errorf(err, "out of memory");
	for (int i = 0; i < net->n_views; i++) {
		const struct cnn_view *v = &net->views[i];

		memset(&t[i], 0, sizeof(t[i]));
		t[i].name = v->name;
		t[i].ndim = v->ndim;
		for (int d = 0; d < v->ndim; d++)
			t[i].shape[d] = v->shape[d];
		t[i].data = v->p;
	}
	pj = cnn_pipeline_to_json(&m->pipeline);
	hj = cnn_hparams_to_json(&m->hp);
	if (!pj || !hj ||
	    json_object_set_new(meta, CNN_CKPT_KEY_FORMAT, json_string(CNN_CKPT_FORMAT)) ||
	    json_object_set_new(meta, CNN_CKPT_KEY_VERSION, json_string(CNN_CKPT_VERSION)) ||
	    cnn_st_meta_set_json(meta, CNN_CKPT_KEY_PIPELINE, pj) ||
	    cnn_st_meta_set_json(meta, CNN_CKPT_KEY_HPARAMS, hj)) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	if (extra && json_object_update(meta, (json_t *)extra)) {
		sw_errorf(err, "out of memory");
		goto done;
	}
	ret = cnn_st_write(path, t, net->n_views, meta, err);
done:
	json_decref(pj);
	json_decref(hj);
	json_decref(meta);
	return ret;
}

int cnn_model_load(struct cnn_model *m, const char *path, int max_batch,
		   int threads, struct sw_err *err)
{
	struct cnn_st_file f = CNN_ST_FILE_INIT;
	json_t *hj = NULL, *pj = NULL, *value;
	struct cnn_hparams hp;
	struct cnn_pipeline pipe;
	const char *fmt, *key;
	int ret = -1;

	memset(m, 0, sizeof(*m));
	if (cnn_st_read(path, &f, err) < 0)
		goto done;
	fmt = cnn_st_meta(&f, CNN_CKPT_KEY_FORMAT);
	if (!fmt || strcmp(fmt, CNN_CKPT_FORMAT)) {
		sw_errorf(err, "'%s' is not a sweep model (metadata 'format' is %s%s%s)",
			  path, fmt ? "'" : "", fmt ? fmt : "missing", fmt ? "'" : "");
		goto done;
	}
	fmt = cnn_st_meta(&f, CNN_CKPT_KEY_VERSION);
	if (!fmt || strcmp(fmt, CNN_CKPT_VERSION)) {
		sw_errorf(err, "'%s': unsupported format_version '%s' (expected %s)",
			  path, fmt ? fmt : "", CNN_CKPT_VERSION);
		goto done;
	}
	if (cnn_st_meta_json(&f, CNN_CKPT_KEY_HPARAMS, &hj, err) < 0 ||
	    cnn_st_meta_json(&f, CNN_CKPT_KEY_PIPELINE, &pj, err) < 0) {
		sw_err_prefix(err, "'%s'", path);
		goto done;
	}
	if (!json_is_object(hj)) {
		sw_errorf(err, "'%s': metadata 'hparams' is not an object", path);
		goto done;
	}
	cnn_hparams_default(&hp);
	json_object_foreach(hj, key, value) {
		if (cnn_hparams_set_json(&hp, key, value, err) < 0) {
			sw_err_prefix(err, "'%s'", path);
			goto done;
		}
	}
	if (cnn_pipeline_from_json(&pipe, pj, err) < 0) {
		sw_err_prefix(err, "'%s'", path);
		goto done;
	}
	if (cnn_model_init(m, &hp, &pipe, max_batch, threads, err) < 0) {
		sw_err_prefix(err, "'%s'", path);
		goto done;
	}
	for (int i = 0; i < m->net.n_views; i++) {
		struct cnn_view *v = &m->net.views[i];

		if (cnn_st_get(&f, v->name, v->ndim, v->shape, v->p, err) < 0) {
			sw_err_prefix(err, "'%s'", path);
			goto done;
		}
		for (size_t k = 0; k < v->n; k++)
			if (!isfinite(v->p[k])) {
				sw_errorf(err, "'%s': tensor '%s' holds a non-finite value",
					  path, v->name);
				goto done;
			}
	}
	ret = 0;
done:
	if (ret < 0)
		cnn_model_release(m);
	json_decref(hj);
	json_decref(pj);
	cnn_st_file_release(&f);
	return ret;
}
