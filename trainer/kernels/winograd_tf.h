/*
 * winograd_tf.h - private to trainer/kernels: the F(4x4,3x3) input and
 * output transforms on six values, as macros so that they stay in registers
 * inside vectorised loops; shared by winograd.c (channels first) and
 * conv_nhwc.c (channels last).
 */
#ifndef CNN_WINOGRAD_TF_H
#define CNN_WINOGRAD_TF_H

// B^T d: 6 -> 6 (input tiles)
#define WTF_BT6(o0, o1, o2, o3, o4, o5, d0, d1, d2, d3, d4, d5)              \
	do {                                                                  \
		o0 = 4 * (d0) - 5 * (d2) + (d4);                              \
		o1 = (d3) + (d4) - 4 * ((d1) + (d2));                         \
		o2 = 4 * ((d1) - (d2)) + (d4) - (d3);                         \
		o3 = 2 * ((d3) - (d1)) + (d4) - (d2);                         \
		o4 = 2 * ((d1) - (d3)) + (d4) - (d2);                         \
		o5 = 4 * (d1) - 5 * (d3) + (d5);                              \
	} while (0)

// A^T m: 6 -> 4 (output tiles)
#define WTF_AT6(o0, o1, o2, o3, m0, m1, m2, m3, m4, m5)                      \
	do {                                                                  \
		float p_ = (m1) + (m2), q_ = (m1) - (m2);                     \
		float r_ = (m3) + (m4), s_ = (m3) - (m4);                     \
		o0 = (m0) + p_ + r_;                                          \
		o1 = q_ + 2 * s_;                                             \
		o2 = p_ + 4 * r_;                                             \
		o3 = q_ + 8 * s_ + (m5);                                      \
	} while (0)

#endif
