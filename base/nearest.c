/* nearest.c - "did you mean" for unknown words; see include/base/nearest.h */
#include "base/nearest.h"

#include <string.h>

/* Levenshtein distance with transpositions counted as one edit; words longer
 * than 63 bytes are never "near". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[64][64];

	if (la >= 64 || lb >= 64)
		return (size_t)-1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *sw_nearest(const char *word, const char *const *cands)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, limit, len = strlen(word), i;

	/* a typo: up to a third of the word's letters, at least 1, at most 3 */
	limit = len / 3;
	if (limit < 1)
		limit = 1;
	if (limit > 3)
		limit = 3;
	for (i = 0; cands[i]; i++) {
		size_t d = edit_distance(word, cands[i]);

		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	if (best_d <= limit)
		return best;
	/* a prefix of exactly one candidate: "val_acc" -> "val_accuracy" */
	best = NULL;
	for (i = 0; len >= 3 && cands[i]; i++) {
		if (strncmp(cands[i], word, len) == 0) {
			if (best)
				return NULL;
			best = cands[i];
		}
	}
	return best;
}
