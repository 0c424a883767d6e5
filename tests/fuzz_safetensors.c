/* fuzz_safetensors.c - libFuzzer target for the .safetensors reader: any
 * byte string must be rejected cleanly or parse into tensors whose offsets
 * lie inside the data area (then every tensor is read back). */
#include <stdint.h>
#include <stdlib.h>

#include "trainer/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cnn_st_file f = CNN_ST_FILE_INIT;
	struct sw_err err = SW_ERR_INIT;
	int i;

	if (cnn_st_parse(data, size, "fuzz", &f, &err) == 0) {
		for (i = 0; i < f.n; i++) {
			const struct cnn_st_entry *e = &f.tensors[i];
			float *dst = malloc(e->numel * sizeof(float) + 1);

			if (e->offset + e->numel * 4 > f.data_len)
				abort();
			if (dst && cnn_st_get(&f, e->name, e->ndim, e->shape, dst, &err) != 0)
				abort();
			free(dst);
		}
	}
	cnn_st_file_release(&f);
	return 0;
}
