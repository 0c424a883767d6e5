/*
 * wandb_hook.h - the Python start-up module that lets an unchanged wandb
 * script report to `sweep run` while it trains.
 *
 * Two modules, embedded in the binary so a clean clone, `make install` and
 * a copied binary all have them, are written into DIR, and DIR goes first
 * on the run's PYTHONPATH: sitecustomize.py (sweep/wandb_sitecustomize.py,
 * small: every Python of the run loads it at start-up) chains to the
 * sitecustomize that was next on the path and takes DIR off sys.path
 * again; only once the script imports wandb does it load
 * sweep_wandb_report.py (sweep/wandb_report.py), which appends each row
 * wandb commits and each wandb.alert() as one JSON line to
 * $SWEEP_METRICS_FILE:
 *   {"_wandb": "log", "_step": N, "row": {"loss": 0.5, "val.acc": 0.9}}
 *   {"_wandb": "alert", "title": "...", "text": "...", "level": "WARN"}
 * (struct sw_trial_hooks, trial.h, receives them). Rows hold numbers only;
 * NaN and infinities are the strings "NaN", "Infinity", "-Infinity".
 *
 * defines: sw_wandb_hook_source, sw_wandb_report_source, sw_wandb_hook_write,
 *          sw_wandb_hook_pythonpath
 */
#ifndef SW_WANDB_HOOK_H
#define SW_WANDB_HOOK_H

#include <stddef.h>

#include "base/err.h"

/* The start-up module's Python source (static; NUL-terminated) and its
 * length. */
const char *sw_wandb_hook_source(size_t *len);

/* The same for the module that reports wandb's rows and alerts. */
const char *sw_wandb_report_source(size_t *len);

/* Writes both modules, dir/sitecustomize.py and dir/sweep_wandb_report.py
 * (dir and parents created), each atomically (temporary file + rename)
 * unless it is there already with the same content. Returns 0, or -1 with
 * err naming the file. */
int sw_wandb_hook_write(const char *dir, struct sw_err *err);

/* The PYTHONPATH a run gets: dir, then the entries of user_path ($PYTHONPATH
 * as given; NULL or "" when unset). Returns a new string the caller frees,
 * or NULL on OOM. */
char *sw_wandb_hook_pythonpath(const char *dir, const char *user_path);

#endif
