/* eval.c - the fused evaluation forward pass: the conv trunk depth first on
 * chunks of images, channels last, with ReLU, BatchNorm and max-pool in the
 * conv epilogues; the dense tail through the training kernels. See
 * include/trainer/eval.h. */
#include "trainer/eval.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trainer/kernels.h"

/* the layer sequence of cnn_net_init that the trunk fuses */
static const char *const expected_kinds[] = {
	"conv", "batchnorm", "conv", "batchnorm", "maxpool", "dropout",
	"conv", "batchnorm", "conv", "batchnorm", "maxpool", "dropout",
	"dense", "batchnorm", "dropout", "dense",
};
#define N_KINDS ((int)(sizeof(expected_kinds) / sizeof(expected_kinds[0])))
#define CH CNN_EVAL_CHUNK

struct cnn_eval {
	int S, in_c, c1, c2, I, O;  /* input side and channels, filters, dense1 */
	int P1, P2;                 /* padded sides of S and S/2 (cnn_nhwc_pad) */
	float *seen;                /* params then stats the kernels came from */
	int built;
	float *w1t;                 /* conv1 kernels (9*in_c, c1) */
	float *U2, *U3, *U4;        /* Winograd kernels (36, C, M) */
	float *d1w;                 /* dense1 kernel, rows in (H,W,C) order */
	float *tmp;                 /* for cnn_wino_nhwc_weights */
	float *aff;                 /* scale, shift of bn1..bn4 */
	float *s5, *t5;             /* scale, shift of bn5 */
	float *scale[4], *shift[4];
	float *scratch;             /* per thread: per floats */
	size_t per, off_col, off_b2, off_c3, off_ws;
	double sec[CNN_EVAL_STAGES];
};

static void *xcalloc(size_t n)
{
	void *p = calloc(n ? n : 1, sizeof(float));

	if (!p) {
		fprintf(stderr, "sweep: error: out of memory allocating %zu bytes "
			"for the evaluation pass\n", n * sizeof(float));
		abort();
	}
	return p;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

static int fusable(const struct cnn_net *net)
{
	if (net->n_layers != N_KINDS)
		return 0;
	for (int i = 0; i < N_KINDS; i++)
		if (strcmp(net->layers[i].ops->kind, expected_kinds[i]))
			return 0;
	return 1;
}

static struct cnn_eval *eval_new(const struct cnn_net *net)
{
	struct cnn_eval *e = calloc(1, sizeof(*e));
	const struct cnn_layer *L = net->layers;
	size_t a1, col, b2, c3, ws, big;

	if (!e) {
		fprintf(stderr, "sweep: error: out of memory for the evaluation pass\n");
		abort();
	}
	e->S = net->acts[0].H;
	e->in_c = net->acts[0].C;
	e->c1 = L[0].out->C;
	e->c2 = L[6].out->C;
	e->I = L[12].in->C * L[12].in->H * L[12].in->W;
	e->O = L[12].out->C;
	e->P1 = cnn_nhwc_pad(e->S);
	e->P2 = cnn_nhwc_pad(e->S / 2);
	e->seen = xcalloc(net->n_params + net->n_stats);
	e->w1t = xcalloc((size_t)e->in_c * 9 * e->c1);
	e->U2 = xcalloc((size_t)CNN_WINOGRAD_TILE * e->c1 * e->c1);
	e->U3 = xcalloc((size_t)CNN_WINOGRAD_TILE * e->c1 * e->c2);
	e->U4 = xcalloc((size_t)CNN_WINOGRAD_TILE * e->c2 * e->c2);
	big = e->c1 > e->c2 ? e->c1 : e->c2;
	e->tmp = xcalloc((size_t)CNN_WINOGRAD_TILE * big * big);
	e->d1w = xcalloc((size_t)e->I * e->O);
	e->aff = xcalloc(4 * (size_t)big * 2);
	e->s5 = xcalloc(2 * (size_t)e->O);
	e->t5 = e->s5 + e->O;
	for (int i = 0; i < 4; i++) {
		e->scale[i] = e->aff + (size_t)i * 2 * big;
		e->shift[i] = e->scale[i] + big;
	}
	/* per thread, zeroed once: the borders of the padded images stay zero
	 * (every pass rewrites only their insides) */
	a1 = (size_t)e->P1 * e->P1 * e->c1;
	col = cnn_conv_nhwc_direct_ws_floats(e->in_c, e->S, e->S);
	b2 = (size_t)CH * e->P2 * e->P2 * e->c1;
	c3 = (size_t)CH * e->P2 * e->P2 * e->c2;
	ws = max_sz(cnn_wino_nhwc_ws_floats(e->c1, e->c1),
		    max_sz(cnn_wino_nhwc_ws_floats(e->c1, e->c2),
			   cnn_wino_nhwc_ws_floats(e->c2, e->c2)));
	e->off_col = (a1 + 15) & ~(size_t)15;
	e->off_b2 = e->off_col + col;
	e->off_c3 = e->off_b2 + ((b2 + 15) & ~(size_t)15);
	e->off_ws = e->off_c3 + ((c3 + 15) & ~(size_t)15);
	e->per = e->off_ws + ws;
	e->scratch = xcalloc(e->per * net->nthreads);
	return e;
}

void cnn_eval_release(struct cnn_eval *e)
{
	if (!e)
		return;
	free(e->seen);
	free(e->w1t);
	free(e->U2);
	free(e->U3);
	free(e->U4);
	free(e->tmp);
	free(e->d1w);
	free(e->aff);
	free(e->s5);
	free(e->scratch);
	free(e);
}

// the kernels in the forms the trunk reads, from the current parameters
// and moving statistics, unless they are those of the last build
static void prepare(struct cnn_eval *e, struct cnn_net *net)
{
	const struct cnn_layer *L = net->layers;
	size_t np = net->n_params, ns = net->n_stats;
	int Q = e->S / 4;
	const int bn[4] = { 1, 3, 7, 9 };

	if (e->built && !memcmp(e->seen, net->params, sizeof(float) * np) &&
	    !memcmp(e->seen + np, net->stats, sizeof(float) * ns))
		return;
	cnn_conv_nhwc_direct_weights(e->w1t, L[0].w, e->c1, e->in_c);
	cnn_wino_nhwc_weights(e->U2, e->tmp, L[2].w, e->c1, e->c1);
	cnn_wino_nhwc_weights(e->U3, e->tmp, L[6].w, e->c2, e->c1);
	cnn_wino_nhwc_weights(e->U4, e->tmp, L[8].w, e->c2, e->c2);
	for (int i = 0; i < 4; i++) {
		const struct cnn_layer *b = &L[bn[i]];

		cnn_bn_affine(e->scale[i], e->shift[i], b->gamma, b->beta, b->mmean,
			      b->mvar, CNN_BN_EPS, b->in->C);
	}
	cnn_bn_affine(e->s5, e->t5, L[13].gamma, L[13].beta, L[13].mmean, L[13].mvar,
		      CNN_BN_EPS, e->O);
	/* dense1's rows from (C,H,W) to the trunk's (H,W,C) order */
	for (int c = 0; c < e->c2; c++)
		for (int h = 0; h < Q; h++)
			for (int w = 0; w < Q; w++)
				memcpy(e->d1w + (((size_t)h * Q + w) * e->c2 + c) * e->O,
				       L[12].w + (((size_t)c * Q + h) * Q + w) * e->O,
				       sizeof(float) * e->O);
	memcpy(e->seen, net->params, sizeof(float) * np);
	memcpy(e->seen + np, net->stats, sizeof(float) * ns);
	e->built = 1;
}

// the trunk for images lo..lo+cnt-1: conv1 and conv2 (+ pool1) one image
// at a time, conv3 and conv4 (+ pool2) on the chunk; features (H/4, W/4,
// c2) per image into feat; t[] += thread CPU seconds per stage
static void trunk_chunk(struct cnn_eval *e, const struct cnn_net *net,
			float *sc, float *feat, const float *x, int lo, int cnt,
			double *t)
{
	const struct cnn_layer *L = net->layers;
	int S = e->S, H2 = S / 2, c1 = e->c1, c2 = e->c2, P1 = e->P1, P2 = e->P2;
	float *a1 = sc, *col = sc + e->off_col, *b2 = sc + e->off_b2;
	float *c3 = sc + e->off_c3, *ws = sc + e->off_ws;
	size_t b2s = (size_t)P2 * P2 * c1, c3s = (size_t)P2 * P2 * c2;
	struct cnn_conv_epilogue ep1 = { L[0].b, e->scale[0], e->shift[0], L[0].relu, 0 };
	struct cnn_conv_epilogue ep2 = { L[2].b, e->scale[1], e->shift[1], L[2].relu, 1 };
	struct cnn_conv_epilogue ep3 = { L[6].b, e->scale[2], e->shift[2], L[6].relu, 0 };
	struct cnn_conv_epilogue ep4 = { L[8].b, e->scale[3], e->shift[3], L[8].relu, 1 };
	double t0, t1;

	for (int i = 0; i < cnt; i++) {
		t0 = thread_cpu();
		cnn_conv_nhwc_direct(a1 + (size_t)(P1 + 1) * c1, 0, (size_t)P1 * c1, col,
				     x + (size_t)(lo + i) * e->in_c * S * S, e->w1t, &ep1, 1,
				     e->in_c, S, S, c1);
		t1 = thread_cpu();
		cnn_wino_nhwc_conv(b2 + i * b2s + (size_t)(P2 + 1) * c1, 0,
				   (size_t)P2 * c1, ws, a1, 0, e->U2, &ep2, 1, c1, S, S, c1);
		t[CNN_EVAL_CONV1] += t1 - t0;
		t[CNN_EVAL_CONV2] += thread_cpu() - t1;
	}
	t0 = thread_cpu();
	cnn_wino_nhwc_conv(c3 + (size_t)(P2 + 1) * c2, c3s, (size_t)P2 * c2, ws, b2,
			   b2s, e->U3, &ep3, cnt, c1, H2, H2, c2);
	t1 = thread_cpu();
	cnn_wino_nhwc_conv(feat + (size_t)lo * e->I, (size_t)e->I, (size_t)(S / 4) * c2,
			   ws, c3, c3s, e->U4, &ep4, cnt, c2, H2, H2, c2);
	t[CNN_EVAL_CONV3] += t1 - t0;
	t[CNN_EVAL_CONV4] += thread_cpu() - t1;
}

// rows lo..hi-1 of the dense tail: dense1 (ReLU) with its reordered rows,
// bn5's affine, dropout3 (the identity), dense2, in cnn_gemm_nopack (no
// packing of the 1 MB kernel in every thread, as OpenBLAS's sgemm does;
// each output sums its products in order, so a row's logits do not depend
// on how the rows are split)
static void tail_rows(struct cnn_eval *e, struct cnn_net *net, const float *feat,
		      int lo, int hi)
{
	const struct cnn_layer *L = net->layers;
	int O = e->O, K = net->cfg.classes;
	float *h = L[12].out->x, *hb = L[14].out->x, *logits = L[15].out->x;

	if (hi <= lo)
		return;
	cnn_gemm_nopack(hi - lo, O, e->I, feat + (size_t)lo * e->I, e->I, e->d1w, O,
			0.0f, h + (size_t)lo * O, O);
	for (int r = lo; r < hi; r++)
		for (int o = 0; o < O; o++) {
			float v = h[(size_t)r * O + o] + L[12].b[o];

			v = L[12].relu && v < 0 ? 0.0f : v;
			h[(size_t)r * O + o] = v;
			hb[(size_t)r * O + o] = v * e->s5[o] + e->t5[o];
		}
	cnn_gemm_nopack(hi - lo, K, O, hb + (size_t)lo * O, O, L[15].w, K, 0.0f,
			logits + (size_t)lo * K, K);
	for (int r = lo; r < hi; r++)
		for (int k = 0; k < K; k++) {
			float v = logits[(size_t)r * K + k] + L[15].b[k];

			logits[(size_t)r * K + k] = L[15].relu && v < 0 ? 0.0f : v;
		}
}

const float *cnn_eval_forward(struct cnn_net *net, const float *x, int n)
{
	struct cnn_eval *e;
	struct cnn_layer *L = net->layers;
	float *feat;
	int nch = (n + CH - 1) / CH;
	double t0;

	if (!fusable(net))
		return NULL;
	if (!net->eval_)
		net->eval_ = eval_new(net);
	e = net->eval_;
	t0 = thread_cpu();
	prepare(e, net);
	e->sec[CNN_EVAL_PREPARE] += thread_cpu() - t0;
	feat = L[12].in->x;             /* dense1's input, (n, I) */

#pragma omp parallel num_threads(net->nthreads)
	{
		float *sc = e->scratch + e->per * omp_get_thread_num();
		double t[CNN_EVAL_STAGES] = { 0 };

		int tid = omp_get_thread_num(), nt = omp_get_num_threads();
		double tt;

#pragma omp for schedule(dynamic, 1)
		for (int ch = 0; ch < nch; ch++) {
			int lo = ch * CH, cnt = n - lo < CH ? n - lo : CH;

			trunk_chunk(e, net, sc, feat, x, lo, cnt, t);
		}
		/* (after the barrier of the for) each thread its rows of the
		 * dense tail, in this same region */
		tt = thread_cpu();
		tail_rows(e, net, feat, (int)((long)n * tid / nt),
			  (int)((long)n * (tid + 1) / nt));
		t[CNN_EVAL_DENSE] += thread_cpu() - tt;
#pragma omp critical
		for (int s = 0; s < CNN_EVAL_STAGES; s++)
			e->sec[s] += t[s];
	}

	return net->acts[net->n_layers].x;
}

void cnn_eval_times(struct cnn_net *net, double sec[CNN_EVAL_STAGES])
{
	for (int s = 0; s < CNN_EVAL_STAGES; s++) {
		sec[s] = net->eval_ ? net->eval_->sec[s] : 0;
		if (net->eval_)
			net->eval_->sec[s] = 0;
	}
}
