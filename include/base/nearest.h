/*
 * nearest.h - "did you mean": the known word nearest to an unknown one, for
 * error messages about keys, values, metrics, hyperparameters and commands.
 * In base/ because the trainer's hyperparameter table uses it as well as
 * the spec layer and the command dispatcher.
 *
 * defines: sw_nearest
 */
#ifndef SW_NEAREST_H
#define SW_NEAREST_H

/* The candidate (NULL-terminated list) nearest to word by edit distance
 * (a transposition counts as one edit), when close enough to be a likely
 * typo: at most a third of the word's letters, 1 to 3; otherwise the one
 * candidate the word is a prefix of (3 letters or more); else NULL.
 * Returns one of cands (borrowed). */
const char *sw_nearest(const char *word, const char *const *cands);

#endif
