/* bn.c - BatchNorm over (N,C,HW): batch statistics, the affine map it turns
 * into, and the backward pass. The fast versions give each OpenMP thread
 * whole channels and sum with 8 float lanes per image row folded into double,
 * so the result does not depend on the thread count. See kernels.h. */
#include "trainer/kernels.h"

#include <math.h>
#include <string.h>

void cnn_bn_stats_ref(float *mean, float *var, const float *x, int N, int C,
		      int HW)
{
	double cnt = (double)N * HW;

	for (int c = 0; c < C; c++) {
		double s = 0, ss = 0, mu;

		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++)
				s += x[((size_t)n * C + c) * HW + i];
		mu = s / cnt;
		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++) {
				double d = x[((size_t)n * C + c) * HW + i] - mu;
				ss += d * d;
			}
		mean[c] = (float)mu;
		var[c] = (float)(ss / cnt);
	}
}

// sum and sum of squares of (x - ref) over one row, 8 lanes
static void row_sums(const float *x, int n, float ref, double *s, double *ss)
{
	float a[8] = { 0 }, b[8] = { 0 };
	int i = 0;

	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++) {
			float d = x[i + l] - ref;
			a[l] += d;
			b[l] += d * d;
		}
	for (; i < n; i++) {
		float d = x[i] - ref;
		a[0] += d;
		b[0] += d * d;
	}
	for (int l = 0; l < 8; l++) {
		*s += a[l];
		*ss += b[l];
	}
}

void cnn_bn_stats(float *mean, float *var, const float *x, int N, int C,
		  int HW, int nthreads)
{
	double cnt = (double)N * HW;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int c = 0; c < C; c++) {
		// shift by the first value of the channel: keeps sums small
		float ref = x[(size_t)c * HW];
		double s = 0, ss = 0, mu;

		for (int n = 0; n < N; n++)
			row_sums(x + ((size_t)n * C + c) * HW, HW, ref, &s, &ss);
		mu = s / cnt;
		mean[c] = (float)(ref + mu);
		var[c] = (float)fmax(ss / cnt - mu * mu, 0.0);
	}
}

void cnn_bn_partials_ref(double *part, const float *x, int N, int C, int HW)
{
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++) {
			double s = 0, ss = 0;

			for (int i = 0; i < HW; i++) {
				double v = x[((size_t)n * C + c) * HW + i];

				s += v;
				ss += v * v;
			}
			part[((size_t)n * C + c) * 2] = s;
			part[((size_t)n * C + c) * 2 + 1] = ss;
		}
}

void cnn_bn_stats_reduce(float *mean, float *var, const double *part, int N,
			 int C, int HW)
{
	double cnt = (double)N * HW;

	for (int c = 0; c < C; c++) {
		double s = 0, ss = 0, mu;

		for (int n = 0; n < N; n++) {
			s += part[((size_t)n * C + c) * 2];
			ss += part[((size_t)n * C + c) * 2 + 1];
		}
		mu = s / cnt;
		mean[c] = (float)mu;
		var[c] = (float)fmax(ss / cnt - mu * mu, 0.0);
	}
}

void cnn_bn_affine(float *scale, float *shift, const float *gamma,
		   const float *beta, const float *mean, const float *var,
		   float eps, int C)
{
	for (int c = 0; c < C; c++) {
		float s = gamma[c] / sqrtf(var[c] + eps);

		scale[c] = s;
		shift[c] = beta[c] - mean[c] * s;
	}
}

// dx = gamma*istd*(dy - mean(dy) - xhat*mean(dy*xhat)), xhat=(x-mean)*istd
void cnn_bn_backward_ref(float *dx, float *dgamma, float *dbeta,
			 const float *dy, const float *x, const float *mean,
			 const float *var, const float *gamma, float eps,
			 int N, int C, int HW)
{
	double cnt = (double)N * HW;

	for (int c = 0; c < C; c++) {
		double istd = 1.0 / sqrt((double)var[c] + eps), sdy = 0, sdyx = 0;

		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++) {
				size_t k = ((size_t)n * C + c) * HW + i;

				sdy += dy[k];
				sdyx += dy[k] * ((x[k] - (double)mean[c]) * istd);
			}
		dgamma[c] += (float)sdyx;
		dbeta[c] += (float)sdy;
		for (int n = 0; n < N; n++)
			for (int i = 0; i < HW; i++) {
				size_t k = ((size_t)n * C + c) * HW + i;
				double xh = (x[k] - (double)mean[c]) * istd;

				dx[k] = (float)(gamma[c] * istd *
						(dy[k] - sdy / cnt - xh * sdyx / cnt));
			}
	}
}

void cnn_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
		     const float *x, const float *mean, const float *var,
		     const float *gamma, float eps, int N, int C, int HW,
		     int nthreads)
{
	float cnt = (float)N * HW;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int c = 0; c < C; c++) {
		float mu = mean[c], istd = 1.0f / sqrtf(var[c] + eps);
		double sdy = 0, sdyx = 0;

		for (int n = 0; n < N; n++) {
			const float *g = dy + ((size_t)n * C + c) * HW;
			const float *xr = x + ((size_t)n * C + c) * HW;
			float a[8] = { 0 }, b[8] = { 0 };
			int i = 0;

			for (; i + 8 <= HW; i += 8)
				for (int l = 0; l < 8; l++) {
					a[l] += g[i + l];
					b[l] += g[i + l] * (xr[i + l] - mu);
				}
			for (; i < HW; i++) {
				a[0] += g[i];
				b[0] += g[i] * (xr[i] - mu);
			}
			for (int l = 0; l < 8; l++) {
				sdy += a[l];
				sdyx += b[l];
			}
		}
		sdyx *= istd;
		dgamma[c] += (float)sdyx;
		dbeta[c] += (float)sdy;
		float k1 = gamma[c] * istd, mdy = (float)(sdy / cnt);
		float k2 = (float)(sdyx / cnt) * istd;
		for (int n = 0; n < N; n++) {
			const float *g = dy + ((size_t)n * C + c) * HW;
			const float *xr = x + ((size_t)n * C + c) * HW;
			float *d = dx + ((size_t)n * C + c) * HW;

			for (int i = 0; i < HW; i++)
				d[i] = k1 * (g[i] - mdy - (xr[i] - mu) * k2);
		}
	}
}

// sums of dy and dy*(x-mu) over the HW values of one image and channel
CNN_SIMD_CLONES
static void plane_sums(const float *g, const float *xr, float mu, int HW,
		       double *sdy, double *sdyx)
{
	float a = 0, b = 0;

#pragma omp simd reduction(+:a, b)
	for (int i = 0; i < HW; i++) {
		a += g[i];
		b += g[i] * (xr[i] - mu);
	}
	*sdy += a;
	*sdyx += b;
}

/* From channel c's sums of dy and dy*(x-mu): its dgamma and dbeta, and the
 * map dx = ga*dy + gb*x + gd the conv backward applies,
 * dx = k1*(dy - sdy/cnt - xhat*sdyx/cnt) with xhat = (x-mu)*istd. */
static void affine_from_sums(float *ga, float *gb, float *gd, float *dgamma,
			     float *dbeta, int c, float gamma, float mu,
			     double istd, double cnt, double sdy, double sdyx)
{
	sdyx *= istd;           /* sum of dy * xhat */
	dgamma[c] += (float)sdyx;
	dbeta[c] += (float)sdy;
	double k1 = gamma * istd, k2 = sdyx / cnt * istd;
	ga[c] = (float)k1;
	gb[c] = (float)(-k1 * k2);
	gd[c] = (float)(k1 * (k2 * mu - sdy / cnt));
}

void cnn_bn_backward_affine(float *ga, float *gb, float *gd, float *dgamma,
			    float *dbeta, const float *dy, const float *x,
			    const float *mean, const float *var,
			    const float *gamma, float eps, int N, int C, int HW,
			    int nthreads)
{
	double cnt = (double)N * HW;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int c = 0; c < C; c++) {
		float mu = mean[c];
		double istd = 1.0 / sqrt((double)var[c] + eps), sdy = 0, sdyx = 0;

		for (int n = 0; n < N; n++)
			plane_sums(dy + ((size_t)n * C + c) * HW, x + ((size_t)n * C + c) * HW,
				   mu, HW, &sdy, &sdyx);
		affine_from_sums(ga, gb, gd, dgamma, dbeta, c, gamma[c], mu, istd,
				 cnt, sdy, sdyx);
	}
}

// sums of dy and dy*(x-mu) over one pooled plane: dy is p (PH,PW) routed
// to each 2x2 window's max (k: 0..3), so only those x values count. One
// dispatched call per plane. Vectorised over pooled columns: all four
// values loaded and picked without a branch, the bytes widened first (a
// byte load would set the vector length to 64 lanes), and rows shorter
// than 16 taken several at a time (their x rows copied side by side) so
// that a 16-lane vector fills.
CNN_SIMD_CLONES
static void pooled_sums(const float *p, const uint8_t *k, const float *xr,
			float mu, int PH, int PW, int W, double *sdy,
			double *sdyx)
{
	int R = PW < 16 ? 16 / PW : 1;
	float a = 0, b = 0, T0[32], T1[32];

	for (int ph0 = 0; ph0 < PH; ph0 += R) {
		int r = PH - ph0 < R ? PH - ph0 : R, len = r * PW;
		const float *g = p + (size_t)ph0 * PW, *x0 = xr + (size_t)2 * ph0 * W;
		const float *x1 = x0 + W;
		const uint8_t *kk = k + (size_t)ph0 * PW;

		if (R > 1) {
			for (int j = 0; j < r; j++) {
				memcpy(T0 + 2 * j * PW, xr + (size_t)(2 * (ph0 + j)) * W,
				       sizeof(float) * 2 * PW);
				memcpy(T1 + 2 * j * PW, xr + (size_t)(2 * (ph0 + j) + 1) * W,
				       sizeof(float) * 2 * PW);
			}
			x0 = T0;
			x1 = T1;
		}
		for (int pw0 = 0; pw0 < len; pw0 += 64) {
			int kq[64], n = len - pw0 < 64 ? len - pw0 : 64;

			for (int i = 0; i < n; i++)
				kq[i] = kk[pw0 + i];
#pragma omp simd reduction(+:a, b)
			for (int i = 0; i < n; i++) {
				int pw = pw0 + i, q = kq[i];
				float z0 = x0[2 * pw], z1 = x0[2 * pw + 1];
				float z2 = x1[2 * pw], z3 = x1[2 * pw + 1];
				float v = q == 1 ? z1 : z0;

				v = q == 2 ? z2 : v;
				v = q == 3 ? z3 : v;
				a += g[pw];
				b += g[pw] * (v - mu);
			}
		}
	}
	*sdy += a;
	*sdyx += b;
}

void cnn_bn_backward_affine_pooled(float *ga, float *gb, float *gd,
				   float *dgamma, float *dbeta,
				   const float *dyp, const uint8_t *idx,
				   const float *x, const float *mean,
				   const float *var, const float *gamma,
				   float eps, int N, int C, int H, int W,
				   int nthreads)
{
	int PH = H / 2, PW = W / 2;
	size_t php = (size_t)PH * PW, hw = (size_t)H * W;
	double cnt = (double)N * hw;

#pragma omp parallel for num_threads(nthreads) schedule(static)
	for (int c = 0; c < C; c++) {
		float mu = mean[c];
		double istd = 1.0 / sqrt((double)var[c] + eps), sdy = 0, sdyx = 0;

		for (int n = 0; n < N; n++) {
			size_t nc = (size_t)n * C + c;

			pooled_sums(dyp + nc * php, idx + nc * php, x + nc * hw, mu, PH, PW,
				    W, &sdy, &sdyx);
		}
		affine_from_sums(ga, gb, gd, dgamma, dbeta, c, gamma[c], mu, istd,
				 cnt, sdy, sdyx);
	}
}
