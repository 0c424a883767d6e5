/* bench_layers.c - where one training step of the built-in CNN spends its
 * time: each layer's forward and backward pass timed inside real steps
 * (synthetic data, the same model `sweep bench` trains), plus the
 * optimizer, and the conv backward split into weight gradient and input
 * gradient by timing the kernel alone with and without dx.
 *
 *   bench_layers [BATCH [THREADS [CONV1 [CONV2 [STEPS]]]]]
 *
 * Prints per layer the median milliseconds per step over STEPS steps, the
 * share of the step, and for convs and dense layers the GEMM rate their
 * direct-convolution FLOPs imply. Times are CPU time of the process (all
 * threads), which other processes on a shared machine disturb far less than
 * the wall clock; BENCH_WALL=1 reads the wall clock instead. With several
 * threads CPU time includes OpenMP's spin-waits at barriers.
 *
 * Then the same for the evaluation forward pass (CNN_EVAL, what `sweep
 * eval`, validation and `sweep bench`'s inference figure run), layer by
 * layer; BENCH_EVAL_ONLY=1 skips the training step. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "trainer/eval.h"
#include "trainer/hparams.h"
#include "trainer/kernels.h"
#include "trainer/net.h"

#define MAX_STEPS 64

/* CPU seconds of the whole process (all threads): on a shared machine
 * far steadier than the wall clock, which counts time others ran */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* the clock bench_layers reads: CPU time unless BENCH_WALL=1 */
static double (*now)(void) = cpu_now;

static double wall_now(void)
{
	return omp_get_wtime();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median ms of the conv backward kernel of layer l, with or without the
 * input gradient, on a private copy of dy restored before each call. */
static double conv_backward_ms(struct cnn_net *net, struct cnn_layer *l, int n,
			       int with_dx, int reps)
{
	struct cnn_act *in = l->in, *out = l->out;
	size_t ny = (size_t)n * out->C * out->H * out->W;
	float *dy0 = malloc(sizeof(float) * ny), *dy = malloc(sizeof(float) * ny);
	float *dx = with_dx ? malloc(sizeof(float) * (size_t)n * in->C * in->H * in->W) : NULL;
	double t[MAX_STEPS];
	struct sw_rng rng;

	if (!dy0 || !dy || (with_dx && !dx)) {
		fprintf(stderr, "bench_layers: out of memory\n");
		exit(1);
	}
	sw_rng_seed(&rng, 7, 7);
	for (size_t i = 0; i < ny; i++)
		dy0[i] = (float)(sw_rng_double(&rng) - 0.5) * 1e-3f;
	for (int r = 0; r < reps; r++) {
		memcpy(dy, dy0, sizeof(float) * ny);
		double t0 = now();
		cnn_conv_backward(dx, l->dw, l->db, net->ws, dy, NULL, NULL, NULL,
				  out->x, in->x, in->scale, in->shift, l->w, n, in->C,
				  in->H, in->W, out->C, 3, 1, 1, l->relu, net->nthreads);
		t[r] = (now() - t0) * 1e3;
	}
	free(dy0);
	free(dy);
	free(dx);
	return median(t, reps);
}

/* The CNN_EVAL forward pass over STEPS passes (two warm-up passes first):
 * layer by layer through the training kernels (net->eval_layerwise, the
 * pass before the fused one) with each layer's median ms, then the fused
 * pass (eval.h) with its stages' CPU ms per pass (summed over the passes
 * and threads, divided by STEPS). */
static void eval_layers(struct cnn_net *net, const float *x, int batch,
			int steps)
{
	static const char *const stage[CNN_EVAL_STAGES] = {
		"conv1+bn1", "conv2+bn2+pool1", "conv3+bn3", "conv4+bn4+pool2",
		"dense1, bn5, dropout3, dense2", "kernel transforms (or compare)",
	};
	static double t[CNN_MAX_LAYERS][MAX_STEPS];
	double med[CNN_MAX_LAYERS], total = 0, sec[CNN_EVAL_STAGES], tf[MAX_STEPS];

	for (int s = -2; s < steps; s++) {
		net->acts[0].x = (float *)x;
		for (int i = 0; i < net->n_layers; i++) {
			double t0 = now();

			net->layers[i].ops->forward(&net->layers[i], net, batch, CNN_EVAL, 0);
			if (s >= 0)
				t[i][s] = (now() - t0) * 1e3;
		}
	}
	for (int i = 0; i < net->n_layers; i++) {
		med[i] = median(t[i], steps);
		total += med[i];
	}
	printf("eval forward layer by layer (before): %.2f %s ms per batch of %d "
	       "(%.0f images per %s second), median of %d passes\n", total,
	       now == cpu_now ? "CPU" : "wall", batch, batch / total * 1e3,
	       now == cpu_now ? "CPU" : "wall", steps);
	for (int i = 0; i < net->n_layers; i++) {
		struct cnn_layer *l = &net->layers[i];
		double mm = 0;

		if (!strcmp(l->ops->kind, "conv"))
			mm = 2.0 * l->out->C * l->in->C * 9 * l->out->H * l->out->W * batch;
		else if (!strcmp(l->ops->kind, "dense"))
			mm = 2.0 * l->in->C * l->in->H * l->in->W * l->out->C * batch;
		printf("%-9s %-9s %9.2f %5.1f%%", l->name, "eval", med[i],
		       100 * med[i] / total);
		if (mm > 0 && med[i] > 0)
			printf(" %10.1f", mm / med[i] / 1e6);
		printf("\n");
	}

	for (int s = -2; s < steps; s++) {
		double t0 = now();

		if (s == 0)
			cnn_eval_times(net, sec);       /* drop the warm-up's */
		cnn_net_forward(net, x, batch, CNN_EVAL, 0);
		if (s >= 0)
			tf[s] = (now() - t0) * 1e3;
	}
	cnn_eval_times(net, sec);
	total = median(tf, steps);
	printf("eval forward fused (after): %.2f %s ms per batch of %d (%.0f images "
	       "per %s second), median of %d passes; stages in CPU ms per pass:\n",
	       total, now == cpu_now ? "CPU" : "wall", batch, batch / total * 1e3,
	       now == cpu_now ? "CPU" : "wall", steps);
	for (int i = 0; i < CNN_EVAL_STAGES; i++)
		printf("  %-32s %9.2f\n", stage[i], sec[i] * 1e3 / steps);
}

int main(int argc, char **argv)
{
	int batch = argc > 1 ? atoi(argv[1]) : 256;
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	int steps = argc > 5 ? atoi(argv[5]) : 9;
	struct cnn_hparams hp;
	struct cnn_net_config cfg;
	struct cnn_net net;
	struct sw_err err = SW_ERR_INIT;
	struct sw_rng rng;
	static double fwd[CNN_MAX_LAYERS][MAX_STEPS], bwd[CNN_MAX_LAYERS][MAX_STEPS];
	double opt[MAX_STEPS], loss[MAX_STEPS], zero[MAX_STEPS];

	if (getenv("BENCH_WALL") && !strcmp(getenv("BENCH_WALL"), "1"))
		now = wall_now;
	if (steps < 1 || steps > MAX_STEPS || batch < 1 || threads < 1) {
		fprintf(stderr, "usage: bench_layers [BATCH [THREADS [CONV1 [CONV2 [STEPS<=%d]]]]]\n",
			MAX_STEPS);
		return 2;
	}
	cnn_hparams_default(&hp);
	if (argc > 3)
		hp.conv1_filters = atoi(argv[3]);
	if (argc > 4)
		hp.conv2_filters = atoi(argv[4]);
	cnn_net_config_from_hparams(&cfg, &hp);
	if (cnn_net_init(&net, &cfg, batch, threads, &err) < 0) {
		fprintf(stderr, "bench_layers: %s\n", err.msg);
		return 1;
	}
	cnn_net_init_weights(&net, 1);
	size_t per = (size_t)cfg.in_c * cfg.in_size * cfg.in_size;
	float *x = malloc(sizeof(float) * per * batch);
	uint8_t *labels = malloc((size_t)batch);
	float *m = calloc(net.n_params, sizeof(float));
	float *v = calloc(net.n_params, sizeof(float));

	if (!x || !labels || !m || !v) {
		fprintf(stderr, "bench_layers: out of memory\n");
		return 1;
	}
	sw_rng_seed(&rng, 1, 2);
	for (size_t i = 0; i < per * batch; i++)
		x[i] = (float)sw_rng_double(&rng);
	for (int i = 0; i < batch; i++)
		labels[i] = (uint8_t)sw_rng_bounded(&rng, 10);

	omp_set_num_threads(threads);
	if (getenv("BENCH_EVAL_ONLY") && !strcmp(getenv("BENCH_EVAL_ONLY"), "1")) {
		eval_layers(&net, x, batch, steps);
		goto out;
	}
	/* the steps of cnn_net_forward/loss/backward + Adam, layer by layer */
	for (int s = -2; s < steps; s++) {
		double t0 = now(), t1;

		cnn_net_zero_grad(&net);
		t1 = now();
		if (s >= 0)
			zero[s] = (t1 - t0) * 1e3;
		net.acts[0].x = x;
		for (int i = 0; i < net.n_layers; i++) {
			t0 = now();
			net.layers[i].ops->forward(&net.layers[i], &net, batch, CNN_TRAIN,
						   (uint64_t)s + 10);
			if (s >= 0)
				fwd[i][s] = (now() - t0) * 1e3;
		}
		t0 = now();
		cnn_net_loss(&net, labels, batch, NULL, 1);
		if (s >= 0)
			loss[s] = (now() - t0) * 1e3;
		for (int i = net.n_layers - 1; i >= 0; i--) {
			t0 = now();
			net.layers[i].ops->backward(&net.layers[i], &net, batch);
			if (s >= 0)
				bwd[i][s] = (now() - t0) * 1e3;
		}
		t0 = now();
		cnn_adam(net.params, m, v, net.grads, net.n_params, 1e-3f, 0.9f, 0.999f,
			 1e-7f, 0, s + 3, threads);
		if (s >= 0)
			opt[s] = (now() - t0) * 1e3;
	}

	double total = 0, mf[CNN_MAX_LAYERS], mb[CNN_MAX_LAYERS];
	double mz = median(zero, steps), ml = median(loss, steps), mo = median(opt, steps);

	for (int i = 0; i < net.n_layers; i++) {
		mf[i] = median(fwd[i], steps);
		mb[i] = median(bwd[i], steps);
		total += mf[i] + mb[i];
	}
	total += mz + ml + mo;
	printf("batch %d, threads %d, conv %d/%d: %.2f %s ms per step (%.0f images "
	       "per %s second), median of %d steps\n", batch, threads, cfg.conv1,
	       cfg.conv2, total, now == cpu_now ? "CPU" : "wall", batch / total * 1e3,
	       now == cpu_now ? "CPU" : "wall", steps);
	printf("%-9s %-9s %9s %6s %10s\n", "layer", "pass", "ms", "share", "GFLOP/s");
	for (int i = 0; i < net.n_layers; i++) {
		struct cnn_layer *l = &net.layers[i];
		double mm = 0;

		if (!strcmp(l->ops->kind, "conv"))
			mm = 2.0 * l->out->C * l->in->C * 9 * l->out->H * l->out->W * batch;
		else if (!strcmp(l->ops->kind, "dense"))
			mm = 2.0 * l->in->C * l->in->H * l->in->W * l->out->C * batch;
		printf("%-9s %-9s %9.2f %5.1f%%", l->name, "forward", mf[i], 100 * mf[i] / total);
		if (mm > 0)
			printf(" %10.1f", mm / mf[i] / 1e6);
		printf("\n%-9s %-9s %9.2f %5.1f%%", l->name, "backward", mb[i],
		       100 * mb[i] / total);
		if (mm > 0)
			printf(" %10.1f", (i == 0 ? 1 : 2) * mm / mb[i] / 1e6);
		printf("\n");
	}
	printf("%-9s %-9s %9.2f %5.1f%%\n", "loss", "both", ml, 100 * ml / total);
	printf("%-9s %-9s %9.2f %5.1f%%\n", "grads", "zero", mz, 100 * mz / total);
	printf("%-9s %-9s %9.2f %5.1f%%\n", "adam", "update", mo, 100 * mo / total);

	/* conv backward split: the kernel alone, with and without dx */
	printf("conv backward alone (no BatchNorm map): weight grad | + input grad\n");
	for (int i = 1; i < net.n_layers; i++) {
		struct cnn_layer *l = &net.layers[i];

		if (strcmp(l->ops->kind, "conv"))
			continue;
		double a = conv_backward_ms(&net, l, batch, 0, steps);
		double b = conv_backward_ms(&net, l, batch, 1, steps);
		printf("%-9s wgrad %.2f ms, dgrad %.2f ms\n", l->name, a, b - a);
	}
	eval_layers(&net, x, batch, steps);
out:
	free(x);
	free(labels);
	free(m);
	free(v);
	cnn_net_release(&net);
	return 0;
}
