/* transform.c - see include/trainer/transform.h */
#define _GNU_SOURCE
#include "trainer/transform.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CROP_PAD_MAX 64
#define STREAM_KEY 0x7472616e73666f72ull  /* "transfor": the batch stream */

static const char *const op_names[] = {
	[CNN_STEP_RESIZE] = "resize",
	[CNN_STEP_RANDOM_FLIP] = "random_flip",
	[CNN_STEP_RANDOM_CROP] = "random_crop",
	[CNN_STEP_RESCALE] = "rescale",
	[CNN_STEP_STANDARDIZE] = "standardize",
};
#define N_OPS ((int)(sizeof(op_names) / sizeof(op_names[0])))

static int is_random(enum cnn_step_op op)
{
	return op == CNN_STEP_RANDOM_FLIP || op == CNN_STEP_RANDOM_CROP;
}

/* ==== Building ==== */

void cnn_pipeline_init(struct cnn_pipeline *p)
{
	memset(p, 0, sizeof(*p));
	p->in_c = CNN_CIFAR_C;
	p->in_h = CNN_CIFAR_H;
	p->in_w = CNN_CIFAR_W;
}

static int check_step(const struct cnn_step *s, int index, struct sw_err *err)
{
	const char *name = s->op >= 0 && (int)s->op < N_OPS ? op_names[s->op] : "?";
	int c;

	switch (s->op) {
	case CNN_STEP_RESIZE:
		if (s->size < 1 || s->size > CNN_IMAGE_SIZE_MAX)
			return sw_errorf(err, "pipeline step %d (%s): size must be "
					 "between 1 and %d, got %d", index, name,
					 CNN_IMAGE_SIZE_MAX, s->size);
		return 0;
	case CNN_STEP_RANDOM_FLIP:
		return 0;
	case CNN_STEP_RANDOM_CROP:
		if (s->padding < 0 || s->padding > CROP_PAD_MAX)
			return sw_errorf(err, "pipeline step %d (%s): padding must be "
					 "between 0 and %d, got %d", index, name,
					 CROP_PAD_MAX, s->padding);
		return 0;
	case CNN_STEP_RESCALE:
		if (!isfinite(s->scale) || !isfinite(s->offset))
			return sw_errorf(err, "pipeline step %d (%s): scale and "
					 "offset must be finite", index, name);
		return 0;
	case CNN_STEP_STANDARDIZE:
		for (c = 0; c < CNN_CIFAR_C; c++) {
			if (!isfinite(s->mean[c]))
				return sw_errorf(err, "pipeline step %d (%s): mean[%d] "
						 "must be finite", index, name, c);
			if (!(s->std[c] > 0) || !isfinite(s->std[c]))
				return sw_errorf(err, "pipeline step %d (%s): std[%d] "
						 "must be > 0", index, name, c);
		}
		return 0;
	}
	return sw_errorf(err, "pipeline step %d: unknown operation %d", index,
			 (int)s->op);
}

int cnn_pipeline_add(struct cnn_pipeline *p, const struct cnn_step *step,
		     struct sw_err *err)
{
	if (p->n_steps >= CNN_PIPELINE_MAX_STEPS)
		return sw_errorf(err, "pipeline has more than %d steps",
				 CNN_PIPELINE_MAX_STEPS);
	if (check_step(step, p->n_steps, err) < 0)
		return -1;
	p->steps[p->n_steps++] = *step;
	return 0;
}

int cnn_pipeline_from_hparams(struct cnn_pipeline *p,
			      const struct cnn_hparams *hp,
			      const struct cnn_split *train,
			      struct sw_err *err)
{
	struct cnn_step s;
	int c;

	cnn_pipeline_init(p);
	memset(&s, 0, sizeof(s));
	s.op = CNN_STEP_RESIZE;
	s.size = hp->image_size;
	if (cnn_pipeline_add(p, &s, err) < 0)
		return -1;
	if (hp->augment == CNN_AUG_FLIP || hp->augment == CNN_AUG_FLIP_CROP) {
		memset(&s, 0, sizeof(s));
		s.op = CNN_STEP_RANDOM_FLIP;
		cnn_pipeline_add(p, &s, err);
	}
	if (hp->augment == CNN_AUG_FLIP_CROP) {
		memset(&s, 0, sizeof(s));
		s.op = CNN_STEP_RANDOM_CROP;
		s.padding = 4;
		cnn_pipeline_add(p, &s, err);
	}
	memset(&s, 0, sizeof(s));
	s.op = CNN_STEP_RESCALE;
	s.scale = 1.0f / 255.0f;
	cnn_pipeline_add(p, &s, err);
	if (hp->normalize == CNN_NORM_STANDARDIZE) {
		memset(&s, 0, sizeof(s));
		s.op = CNN_STEP_STANDARDIZE;
		for (c = 0; c < CNN_CIFAR_C; c++)
			s.std[c] = 1.0f;
		cnn_pipeline_add(p, &s, err);
		if (!train)
			return sw_errorf(err, "normalize=standardize needs the "
					 "training set to compute mean and std");
		return cnn_pipeline_fit(p, train, err);
	}
	return 0;
}

int cnn_pipeline_out_size(const struct cnn_pipeline *p)
{
	int i, size = p->in_h;

	for (i = 0; i < p->n_steps; i++)
		if (p->steps[i].op == CNN_STEP_RESIZE)
			size = p->steps[i].size;
	return size;
}

/* Largest square side any stage holds (scratch buffer sizing). */
static int max_side(const struct cnn_pipeline *p)
{
	int i, m = p->in_h > p->in_w ? p->in_h : p->in_w;

	for (i = 0; i < p->n_steps; i++)
		if (p->steps[i].op == CNN_STEP_RESIZE && p->steps[i].size > m)
			m = p->steps[i].size;
	return m;
}

/* ==== Randomness shared by both versions ==== */

/* Draws the batch key (only when something random will run). */
static int batch_key(const struct cnn_pipeline *p, int training,
		     struct sw_rng *rng, struct sw_rng *keyed)
{
	int i, any = 0;

	for (i = 0; i < p->n_steps; i++)
		any |= is_random(p->steps[i].op);
	if (!training || !any || !rng)
		return 0;
	sw_rng_seed(keyed, sw_rng_u64(rng), STREAM_KEY);
	return 1;
}

/* The random choices of one image, drawn in step order: flip draws one
 * bounded(2); crop draws dy then dx, each bounded(2*padding+1). */
struct draws {
	int flip[CNN_PIPELINE_MAX_STEPS];
	int dy[CNN_PIPELINE_MAX_STEPS], dx[CNN_PIPELINE_MAX_STEPS];
};

static void draw_image(const struct cnn_pipeline *p, int keyed,
		       const struct sw_rng *key, int j, struct draws *d)
{
	struct sw_rng r;
	int i;

	memset(d, 0, sizeof(*d));
	if (!keyed)
		return;
	sw_rng_derive(key, (uint64_t)j, &r);
	for (i = 0; i < p->n_steps; i++) {
		const struct cnn_step *s = &p->steps[i];

		if (s->op == CNN_STEP_RANDOM_FLIP) {
			d->flip[i] = (int)sw_rng_bounded(&r, 2);
		} else if (s->op == CNN_STEP_RANDOM_CROP) {
			d->dy[i] = (int)sw_rng_bounded(&r, 2u * s->padding + 1);
			d->dx[i] = (int)sw_rng_bounded(&r, 2u * s->padding + 1);
		}
	}
}

/* ==== Reference version: one plain pass per step ==== */

/* Bilinear source coordinate for output index o (half-pixel centres,
 * clamped at the border as PyTorch's align_corners=False does). */
static void bilinear_coord(int o, int in, int out, int *i0, int *i1, float *l)
{
	float s = ((float)o + 0.5f) * ((float)in / (float)out) - 0.5f;
	int f;

	if (s < 0)
		s = 0;
	f = (int)s;
	if (f > in - 1)
		f = in - 1;
	*i0 = f;
	*i1 = f + 1 < in ? f + 1 : in - 1;
	*l = s - (float)f;
}

static void ref_resize(const float *in, float *out, int C, int H, int W, int S)
{
	int c, y, x;

	for (c = 0; c < C; c++)
		for (y = 0; y < S; y++)
			for (x = 0; x < S; x++) {
				const float *pl = in + (size_t)c * H * W;
				int y0, y1, x0, x1;
				float ly, lx, top, bot;

				bilinear_coord(y, H, S, &y0, &y1, &ly);
				bilinear_coord(x, W, S, &x0, &x1, &lx);
				top = (1 - lx) * pl[y0 * W + x0] + lx * pl[y0 * W + x1];
				bot = (1 - lx) * pl[y1 * W + x0] + lx * pl[y1 * W + x1];
				out[((size_t)c * S + y) * S + x] = (1 - ly) * top + ly * bot;
			}
}

static void ref_one(const struct cnn_pipeline *p, float *out,
		    const uint8_t *px, int training, const struct draws *d,
		    float *a, float *b)
{
	int C = p->in_c, H = p->in_h, W = p->in_w, i, c, y, x;
	size_t k;
	float *t;

	for (k = 0; k < (size_t)C * H * W; k++)
		a[k] = (float)px[k];
	for (i = 0; i < p->n_steps; i++) {
		const struct cnn_step *s = &p->steps[i];
		size_t n = (size_t)C * H * W;

		if (is_random(s->op) && !training)
			continue;
		switch (s->op) {
		case CNN_STEP_RESIZE:
			ref_resize(a, b, C, H, W, s->size);
			H = W = s->size;
			t = a, a = b, b = t;
			break;
		case CNN_STEP_RANDOM_FLIP:
			if (!d->flip[i])
				break;
			for (c = 0; c < C; c++)
				for (y = 0; y < H; y++)
					for (x = 0; x < W; x++)
						b[((size_t)c * H + y) * W + x] =
							a[((size_t)c * H + y) * W + W - 1 - x];
			t = a, a = b, b = t;
			break;
		case CNN_STEP_RANDOM_CROP:
			/* pad with zeros, then take the window at (dy, dx) */
			for (c = 0; c < C; c++)
				for (y = 0; y < H; y++)
					for (x = 0; x < W; x++) {
						int sy = y + d->dy[i] - s->padding;
						int sx = x + d->dx[i] - s->padding;
						int in = sy >= 0 && sy < H && sx >= 0 && sx < W;

						b[((size_t)c * H + y) * W + x] =
							in ? a[((size_t)c * H + sy) * W + sx] : 0.0f;
					}
			t = a, a = b, b = t;
			break;
		case CNN_STEP_RESCALE:
			for (k = 0; k < n; k++)
				a[k] = a[k] * s->scale + s->offset;
			break;
		case CNN_STEP_STANDARDIZE:
			for (c = 0; c < C; c++)
				for (k = 0; k < (size_t)H * W; k++)
					a[(size_t)c * H * W + k] =
						(a[(size_t)c * H * W + k] - s->mean[c]) / s->std[c];
			break;
		}
	}
	memcpy(out, a, (size_t)C * H * W * sizeof(float));
}

void cnn_pipeline_apply_ref(const struct cnn_pipeline *p, float *out,
			    const struct cnn_split *src, const int *idx, int n,
			    int training, struct sw_rng *rng)
{
	int S = cnn_pipeline_out_size(p), M = max_side(p), j;
	size_t plane = (size_t)p->in_c * M * M;
	float *a = malloc(plane * sizeof(float)), *b = malloc(plane * sizeof(float));
	struct sw_rng key;
	int keyed = batch_key(p, training, rng, &key);

	if (!a || !b)
		abort();
	for (j = 0; j < n; j++) {
		struct draws d;
		const uint8_t *px = src->pixels +
				    (size_t)(idx ? idx[j] : j) * CNN_CIFAR_PIXELS;

		draw_image(p, keyed, &key, j, &d);
		ref_one(p, out + (size_t)j * p->in_c * S * S, px, training, &d, a, b);
	}
	free(a);
	free(b);
}

/* ==== Fast version ==== */

/* The fast path covers pipelines shaped [resize] (geometric)* (affine)*:
 * an optional resize first, then flips and crops, then rescale and
 * standardize steps. Everything after the resize then collapses, per image,
 * into a source row table, a source column table and one affine map per
 * channel: out[c][y][x] = a[c] * src[c][ys[y]][xs[x]] + b[c], or pad[c] where
 * a crop padded (the affine steps applied to 0). Other orders go through
 * the reference steps, still parallel over images. */
struct plan {
	int fused;               /* the pipeline has the fast-path shape */
	int resize;              /* a real resize (size != input) comes first */
	int S;                   /* side after the resize (= output side) */
	float a[CNN_CIFAR_C], b[CNN_CIFAR_C], pad[CNN_CIFAR_C];
	int *ry0, *ry1, *rx0, *rx1; /* bilinear tables (resize) */
	float *rly, *rlx;
};

static int plan_make(const struct cnn_pipeline *p, struct plan *pl)
{
	int i = 0, c, phase = 0;

	memset(pl, 0, sizeof(*pl));
	pl->S = p->in_h;
	if (p->in_h != p->in_w || p->in_c != CNN_CIFAR_C)
		return 0;
	if (p->n_steps && p->steps[0].op == CNN_STEP_RESIZE) {
		pl->S = p->steps[0].size;
		pl->resize = pl->S != p->in_h;
		i = 1;
	}
	for (c = 0; c < CNN_CIFAR_C; c++)
		pl->a[c] = 1, pl->b[c] = 0;
	for (; i < p->n_steps; i++) {
		const struct cnn_step *s = &p->steps[i];

		if (s->op == CNN_STEP_RESIZE)
			return 0;
		if (is_random(s->op)) {
			if (phase)
				return 0;  /* geometry after an affine step */
			continue;
		}
		phase = 1;
		for (c = 0; c < CNN_CIFAR_C; c++) {
			if (s->op == CNN_STEP_RESCALE) {
				pl->a[c] = pl->a[c] * s->scale;
				pl->b[c] = pl->b[c] * s->scale + s->offset;
			} else {
				pl->a[c] = pl->a[c] / s->std[c];
				pl->b[c] = (pl->b[c] - s->mean[c]) / s->std[c];
			}
		}
	}
	for (c = 0; c < CNN_CIFAR_C; c++)
		pl->pad[c] = pl->b[c];
	if (pl->resize) {
		int S = pl->S, k;

		pl->ry0 = malloc(4 * sizeof(int) * S);
		pl->rly = malloc(2 * sizeof(float) * S);
		if (!pl->ry0 || !pl->rly)
			abort();
		pl->ry1 = pl->ry0 + S;
		pl->rx0 = pl->ry0 + 2 * S;
		pl->rx1 = pl->ry0 + 3 * S;
		pl->rlx = pl->rly + S;
		for (k = 0; k < S; k++) {
			bilinear_coord(k, p->in_h, S, &pl->ry0[k], &pl->ry1[k],
				       &pl->rly[k]);
			bilinear_coord(k, p->in_w, S, &pl->rx0[k], &pl->rx1[k],
				       &pl->rlx[k]);
		}
	}
	pl->fused = 1;
	return 1;
}

static void plan_release(struct plan *pl)
{
	free(pl->ry0);
	free(pl->rly);
}

/* Source coordinate tables of one image: walk the geometric steps from the
 * last to the first, mapping each output row/column to the stage before;
 * -1 marks a padded position. */
static void geometry(const struct cnn_pipeline *p, int S, int training,
		     const struct draws *d, int *ys, int *xs)
{
	int k, i;

	for (k = 0; k < S; k++) {
		int y = k, x = k;

		for (i = p->n_steps - 1; i >= 0 && (y >= 0 || x >= 0); i--) {
			const struct cnn_step *s = &p->steps[i];

			if (!training || !is_random(s->op))
				continue;
			if (s->op == CNN_STEP_RANDOM_FLIP) {
				if (d->flip[i] && x >= 0)
					x = S - 1 - x;
			} else {
				if (y >= 0) {
					y += d->dy[i] - s->padding;
					y = y >= 0 && y < S ? y : -1;
				}
				if (x >= 0) {
					x += d->dx[i] - s->padding;
					x = x >= 0 && x < S ? x : -1;
				}
			}
		}
		ys[k] = y;
		xs[k] = x;
	}
}

static void fused_one(const struct cnn_pipeline *p, const struct plan *pl,
		      float *out, const uint8_t *px, int training,
		      const struct draws *d, float *scratch, int *ys, int *xs)
{
	int S = pl->S, H = p->in_h, W = p->in_w, c, y, x;

	geometry(p, S, training, d, ys, xs);
	if (pl->resize) {
		/* bilinear from the bytes into scratch, the reference formula */
		for (c = 0; c < CNN_CIFAR_C; c++) {
			const uint8_t *pl_in = px + (size_t)c * H * W;
			float *o = scratch + (size_t)c * S * S;

			for (y = 0; y < S; y++) {
				const uint8_t *r0 = pl_in + pl->ry0[y] * W;
				const uint8_t *r1 = pl_in + pl->ry1[y] * W;
				float ly = pl->rly[y];

				for (x = 0; x < S; x++) {
					int x0 = pl->rx0[x], x1 = pl->rx1[x];
					float lx = pl->rlx[x];
					float top = (1 - lx) * (float)r0[x0] + lx * (float)r0[x1];
					float bot = (1 - lx) * (float)r1[x0] + lx * (float)r1[x1];

					o[y * S + x] = (1 - ly) * top + ly * bot;
				}
			}
		}
	}
	for (c = 0; c < CNN_CIFAR_C; c++) {
		float a = pl->a[c], b = pl->b[c], pad = pl->pad[c];
		float *o = out + (size_t)c * S * S;

		for (y = 0; y < S; y++) {
			int sy = ys[y];

			if (sy < 0) {
				for (x = 0; x < S; x++)
					o[y * S + x] = pad;
				continue;
			}
			if (pl->resize) {
				const float *row = scratch + ((size_t)c * S + sy) * S;

				for (x = 0; x < S; x++)
					o[y * S + x] = xs[x] < 0 ? pad : a * row[xs[x]] + b;
			} else {
				const uint8_t *row = px + ((size_t)c * S + sy) * S;

				for (x = 0; x < S; x++)
					o[y * S + x] = xs[x] < 0 ? pad
						     : a * (float)row[xs[x]] + b;
			}
		}
	}
}

void cnn_pipeline_apply(const struct cnn_pipeline *p, float *out,
			const struct cnn_split *src, const int *idx, int n,
			int training, struct sw_rng *rng)
{
	int S = cnn_pipeline_out_size(p), M = max_side(p);
	size_t plane = (size_t)p->in_c * M * M, out_sz = (size_t)p->in_c * S * S;
	struct sw_rng key;
	int keyed = batch_key(p, training, rng, &key);
	struct plan pl;

	plan_make(p, &pl);
#pragma omp parallel if (n >= 8)
	{
		float *a = malloc(plane * sizeof(float));
		float *b = malloc(plane * sizeof(float));
		int *ys = malloc(2 * sizeof(int) * (size_t)M), *xs;
		int j;

		if (!a || !b || !ys)
			abort();
		xs = ys + M;
#pragma omp for schedule(static)
		for (j = 0; j < n; j++) {
			struct draws d;
			const uint8_t *px = src->pixels +
					    (size_t)(idx ? idx[j] : j) * CNN_CIFAR_PIXELS;

			draw_image(p, keyed, &key, j, &d);
			if (pl.fused)
				fused_one(p, &pl, out + (size_t)j * out_sz, px,
					  training, &d, a, ys, xs);
			else
				ref_one(p, out + (size_t)j * out_sz, px, training,
					&d, a, b);
		}
		free(a);
		free(b);
		free(ys);
	}
	plan_release(&pl);
}

/* ==== Fitting the standardisation ==== */

#define FIT_CHUNK 256

/* When the steps before a standardize are, in evaluation mode, a per-channel
 * affine map of the bytes (no real resize; flips and crops are skipped),
 * the statistics follow exactly from a histogram of the bytes: one pass
 * over the pixels with no float conversion. Returns 1 when it applied. */
static int fit_from_histogram(const struct cnn_pipeline *head,
			      const struct cnn_split *train, struct cnn_step *s)
{
	uint64_t hist[CNN_CIFAR_C][256];
	struct plan pl;
	int c, v;

	if (!plan_make(head, &pl) || pl.resize) {
		plan_release(&pl);
		return 0;
	}
	memset(hist, 0, sizeof(hist));
#pragma omp parallel
	{
		uint64_t mine[CNN_CIFAR_C][256];
		int j;

		memset(mine, 0, sizeof(mine));
#pragma omp for schedule(static)
		for (j = 0; j < train->n; j++) {
			const uint8_t *px = train->pixels + (size_t)j * CNN_CIFAR_PIXELS;
			int cc, t;

			for (cc = 0; cc < CNN_CIFAR_C; cc++)
				for (t = 0; t < CNN_CIFAR_H * CNN_CIFAR_W; t++)
					mine[cc][px[cc * CNN_CIFAR_H * CNN_CIFAR_W + t]]++;
		}
#pragma omp critical
		for (int cc = 0; cc < CNN_CIFAR_C; cc++)
			for (int vv = 0; vv < 256; vv++)
				hist[cc][vv] += mine[cc][vv];  /* integers: order-free */
	}
	for (c = 0; c < CNN_CIFAR_C; c++) {
		double n = 0, sum = 0, sq = 0, mean, var, sd;

		for (v = 0; v < 256; v++) {
			double x = (double)pl.a[c] * v + pl.b[c];

			n += (double)hist[c][v];
			sum += (double)hist[c][v] * x;
			sq += (double)hist[c][v] * x * x;
		}
		mean = sum / n;
		var = sq / n - mean * mean;
		sd = var > 0 ? sqrt(var) : 0;
		s->mean[c] = (float)mean;
		s->std[c] = sd < 1e-6 ? 1.0f : (float)sd;
	}
	plan_release(&pl);
	return 1;
}

int cnn_pipeline_fit(struct cnn_pipeline *p, const struct cnn_split *train,
		     struct sw_err *err)
{
	int k, c;

	if (!train || train->n <= 0)
		return sw_errorf(err, "cannot fit the standardize step on an "
				 "empty training set");
	for (k = 0; k < p->n_steps; k++) {
		struct cnn_pipeline head = *p;
		struct cnn_step *s = &p->steps[k];
		double sum[CNN_CIFAR_C] = { 0 }, sq[CNN_CIFAR_C] = { 0 };
		double *part;
		float *buf;
		int S, n_chunks, ch;
		size_t img;

		if (s->op != CNN_STEP_STANDARDIZE)
			continue;
		head.n_steps = k;
		if (fit_from_histogram(&head, train, s))
			continue;
		S = cnn_pipeline_out_size(&head);
		img = (size_t)CNN_CIFAR_C * S * S;
		n_chunks = (train->n + FIT_CHUNK - 1) / FIT_CHUNK;
		/* per-image partial sums, reduced in image order afterwards, so
		 * the result does not depend on the thread count */
		part = malloc(sizeof(double) * 2 * CNN_CIFAR_C * (size_t)train->n);
		buf = malloc(sizeof(float) * img * FIT_CHUNK);
		if (!part || !buf)
			abort();
		for (ch = 0; ch < n_chunks; ch++) {
			int first = ch * FIT_CHUNK, j;
			int m = train->n - first < FIT_CHUNK ? train->n - first : FIT_CHUNK;
			struct cnn_split v = *train;

			v.pixels += (size_t)first * CNN_CIFAR_PIXELS;
			cnn_pipeline_apply(&head, buf, &v, NULL, m, 0, NULL);
#pragma omp parallel for schedule(static)
			for (j = 0; j < m; j++) {
				double *q = part + (size_t)(first + j) * 2 * CNN_CIFAR_C;
				int cc;

				for (cc = 0; cc < CNN_CIFAR_C; cc++) {
					const float *x = buf + (size_t)j * img +
							 (size_t)cc * S * S;
					double s1 = 0, s2 = 0;
					int t;

					for (t = 0; t < S * S; t++) {
						s1 += x[t];
						s2 += (double)x[t] * x[t];
					}
					q[2 * cc] = s1;
					q[2 * cc + 1] = s2;
				}
			}
		}
		for (size_t j = 0; j < (size_t)train->n; j++)
			for (c = 0; c < CNN_CIFAR_C; c++) {
				sum[c] += part[j * 2 * CNN_CIFAR_C + 2 * c];
				sq[c] += part[j * 2 * CNN_CIFAR_C + 2 * c + 1];
			}
		for (c = 0; c < CNN_CIFAR_C; c++) {
			double cnt = (double)train->n * S * S;
			double mean = sum[c] / cnt, var = sq[c] / cnt - mean * mean;
			double sd = var > 0 ? sqrt(var) : 0;

			s->mean[c] = (float)mean;
			s->std[c] = sd < 1e-6 ? 1.0f : (float)sd;
		}
		free(part);
		free(buf);
	}
	return 0;
}

/* ==== JSON ==== */

static json_t *floats3(const float *v)
{
	return json_pack("[fff]", (double)v[0], (double)v[1], (double)v[2]);
}

json_t *cnn_pipeline_to_json(const struct cnn_pipeline *p)
{
	json_t *steps = json_array(), *o;
	int i;

	if (!steps)
		return NULL;
	for (i = 0; i < p->n_steps; i++) {
		const struct cnn_step *s = &p->steps[i];
		json_t *j = NULL;

		switch (s->op) {
		case CNN_STEP_RESIZE:
			j = json_pack("{sssi}", "op", "resize", "size", s->size);
			break;
		case CNN_STEP_RANDOM_FLIP:
			j = json_pack("{ss}", "op", "random_flip");
			break;
		case CNN_STEP_RANDOM_CROP:
			j = json_pack("{sssi}", "op", "random_crop", "padding",
				      s->padding);
			break;
		case CNN_STEP_RESCALE:
			j = json_pack("{sssfsf}", "op", "rescale", "scale",
				      (double)s->scale, "offset", (double)s->offset);
			break;
		case CNN_STEP_STANDARDIZE:
			j = json_pack("{sssoso}", "op", "standardize", "mean",
				      floats3(s->mean), "std", floats3(s->std));
			break;
		}
		if (!j || json_array_append_new(steps, j) < 0) {
			json_decref(steps);
			return NULL;
		}
	}
	o = json_pack("{sis[iii]so}", "version", 1, "input", p->in_c, p->in_h,
		      p->in_w, "steps", steps);
	return o;
}

/* Strict reading helpers: every key of obj must be in `allowed`. */
static int only_keys(const json_t *obj, const char *const *allowed, int index,
		     const char *what, struct sw_err *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, key); a++)
			;
		if (!*a) {
			if (index >= 0)
				return sw_errorf(err, "pipeline step %d (%s): unknown "
						 "key '%s'", index, what, key);
			return sw_errorf(err, "pipeline: unknown key '%s'", key);
		}
	}
	return 0;
}

static int get_int(const json_t *obj, const char *key, int index,
		   const char *what, int *out, struct sw_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return sw_errorf(err, "pipeline step %d (%s): '%s' must be an "
				 "integer", index, what, key);
	if (json_integer_value(v) < -1000000 || json_integer_value(v) > 1000000)
		return sw_errorf(err, "pipeline step %d (%s): '%s' is out of range",
				 index, what, key);
	*out = (int)json_integer_value(v);
	return 0;
}

static int get_float(const json_t *v, int index, const char *what,
		     const char *key, float *out, struct sw_err *err)
{
	if (!json_is_number(v))
		return sw_errorf(err, "pipeline step %d (%s): '%s' must be a "
				 "number", index, what, key);
	*out = (float)json_number_value(v);
	return 0;
}

static int get_floats3(const json_t *obj, const char *key, int index,
		       const char *what, float *out, struct sw_err *err)
{
	json_t *a = json_object_get(obj, key);
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != CNN_CIFAR_C)
		return sw_errorf(err, "pipeline step %d (%s): '%s' must be an "
				 "array of %d numbers", index, what, key,
				 CNN_CIFAR_C);
	for (i = 0; i < CNN_CIFAR_C; i++)
		if (get_float(json_array_get(a, i), index, what, key, &out[i],
			      err) < 0)
			return -1;
	return 0;
}

int cnn_pipeline_from_json(struct cnn_pipeline *p, const json_t *j,
			   struct sw_err *err)
{
	static const char *const top[] = { "version", "input", "steps", NULL };
	static const char *const k_resize[] = { "op", "size", NULL };
	static const char *const k_op[] = { "op", NULL };
	static const char *const k_crop[] = { "op", "padding", NULL };
	static const char *const k_rescale[] = { "op", "scale", "offset", NULL };
	static const char *const k_std[] = { "op", "mean", "std", NULL };
	struct cnn_pipeline tmp;
	json_t *in, *steps, *v;
	size_t i;

	cnn_pipeline_init(&tmp);
	if (!json_is_object(j))
		return sw_errorf(err, "pipeline: not a JSON object");
	if (only_keys(j, top, -1, NULL, err) < 0)
		return -1;
	v = json_object_get(j, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		return sw_errorf(err, "pipeline: unsupported version (expected 1)");
	in = json_object_get(j, "input");
	if (!json_is_array(in) || json_array_size(in) != 3 ||
	    !json_is_integer(json_array_get(in, 0)) ||
	    !json_is_integer(json_array_get(in, 1)) ||
	    !json_is_integer(json_array_get(in, 2)))
		return sw_errorf(err, "pipeline: 'input' must be [channels, "
				 "height, width]");
	if (json_integer_value(json_array_get(in, 0)) != CNN_CIFAR_C ||
	    json_integer_value(json_array_get(in, 1)) != CNN_CIFAR_H ||
	    json_integer_value(json_array_get(in, 2)) != CNN_CIFAR_W)
		return sw_errorf(err, "pipeline: 'input' must be [3, 32, 32] "
				 "(CIFAR-10 images)");
	steps = json_object_get(j, "steps");
	if (!json_is_array(steps))
		return sw_errorf(err, "pipeline: 'steps' must be an array");
	if (json_array_size(steps) > CNN_PIPELINE_MAX_STEPS)
		return sw_errorf(err, "pipeline has more than %d steps",
				 CNN_PIPELINE_MAX_STEPS);
	json_array_foreach(steps, i, v) {
		struct cnn_step s;
		const char *op;
		int idx = (int)i;

		memset(&s, 0, sizeof(s));
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "op")))
			return sw_errorf(err, "pipeline step %d: must be an object "
					 "with an 'op' string", idx);
		op = json_string_value(json_object_get(v, "op"));
		if (!strcmp(op, "resize")) {
			s.op = CNN_STEP_RESIZE;
			if (only_keys(v, k_resize, idx, op, err) < 0 ||
			    get_int(v, "size", idx, op, &s.size, err) < 0)
				return -1;
		} else if (!strcmp(op, "random_flip")) {
			s.op = CNN_STEP_RANDOM_FLIP;
			if (only_keys(v, k_op, idx, op, err) < 0)
				return -1;
		} else if (!strcmp(op, "random_crop")) {
			s.op = CNN_STEP_RANDOM_CROP;
			if (only_keys(v, k_crop, idx, op, err) < 0 ||
			    get_int(v, "padding", idx, op, &s.padding, err) < 0)
				return -1;
		} else if (!strcmp(op, "rescale")) {
			s.op = CNN_STEP_RESCALE;
			if (only_keys(v, k_rescale, idx, op, err) < 0 ||
			    get_float(json_object_get(v, "scale"), idx, op, "scale",
				      &s.scale, err) < 0 ||
			    get_float(json_object_get(v, "offset"), idx, op,
				      "offset", &s.offset, err) < 0)
				return -1;
		} else if (!strcmp(op, "standardize")) {
			s.op = CNN_STEP_STANDARDIZE;
			if (only_keys(v, k_std, idx, op, err) < 0 ||
			    get_floats3(v, "mean", idx, op, s.mean, err) < 0 ||
			    get_floats3(v, "std", idx, op, s.std, err) < 0)
				return -1;
		} else {
			return sw_errorf(err, "pipeline step %d: unknown op '%s' "
					 "(expected resize, random_flip, "
					 "random_crop, rescale or standardize)",
					 idx, op);
		}
		if (cnn_pipeline_add(&tmp, &s, err) < 0)
			return -1;
	}
	*p = tmp;
	return 0;
}
