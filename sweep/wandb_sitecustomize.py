# sitecustomize.py - written by `sweep run` into the sweep's directory and
# put first on PYTHONPATH of every run it starts; embedded in the sweep
# binary (sweep/wandb_hook.c), so edit the copy in sweep's sources.
#
# What it does in a run's Python:
#   1. Chains to the sitecustomize that was next on the path (Debian's, a
#      virtualenv's, the user's), and takes its own directory off sys.path,
#      so sys.path is what it would have been without sweep.
#   2. Waits for the script to import wandb (a finder on sys.meta_path that
#      answers nothing, and leaves as soon as wandb is imported).
#   3. Then wraps wandb's Run.log / Run.alert / Run.finish: after wandb did
#      its own work, each row wandb commits (commit=False merged, step=
#      honoured as wandb does) and each alert is one JSON line appended to
#      $SWEEP_METRICS_FILE with one write(2):
#        {"_wandb": "log", "_step": 3, "row": {"loss": 0.5, "val.acc": 0.9}}
#        {"_wandb": "alert", "title": "t", "text": "x", "level": "WARN"}
#      Rows keep numbers only (nested dicts flattened to "a.b"; NaN and
#      infinities as "NaN", "Infinity", "-Infinity"); strings, booleans,
#      None, lists and media are left to the run file, which sweep reads
#      when the run ends.
# It never changes the arguments wandb gets, except that wandb.init(mode=
# "online") becomes "offline" (sweep runs wandb offline), and it never
# raises into the script: a failure to report is silent.
# Without $SWEEP_METRICS_FILE it only chains.
import os
import sys


def _sweep_chain():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    ours = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401  (the next one on the path)
    except ImportError as e:
        if e.name != "sitecustomize":
            raise
        if ours is not None:
            sys.modules["sitecustomize"] = ours


class _SweepRows:
    """wandb's step bookkeeping for one run: the row being built and its step."""

    def __init__(self, step):
        self.step = step
        self.pending = {}


class _SweepReporter:
    def __init__(self, path):
        self.path = path
        self.fd = -1
        self.runs = {}

    def write(self, obj):
        import json
        line = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        if self.fd < 0:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                              | getattr(os, "O_CLOEXEC", 0), 0o644)
        os.write(self.fd, line)

    def rows(self, run):
        r = self.runs.get(id(run))
        if r is None:
            step = getattr(run, "_starting_step", 0)
            r = self.runs[id(run)] = _SweepRows(step if isinstance(step, int) else 0)
        return r

    def flush(self, r):
        if r.pending:
            row, r.pending = r.pending, {}
            self.write({"_wandb": "log", "_step": r.step, "row": row})

    # wandb's rules (Run.log): a step below the current one is dropped; a
    # higher one commits the pending row first; commit=False merges into
    # the next committed row; step= without commit=True waits for a later
    # step (or finish).
    def log(self, run, data, step, commit):
        if not isinstance(data, dict):
            return
        r = self.rows(run)
        if step is not None:
            if not isinstance(step, int) or step < r.step:
                return
            if step > r.step:
                self.flush(r)
                r.step = step
            _sweep_flatten(r.pending, "", data)
            if commit:
                self.flush(r)
                r.step += 1
            return
        _sweep_flatten(r.pending, "", data)
        if commit is None or commit:
            self.flush(r)
            r.step += 1

    def finish(self, run):
        r = self.runs.pop(id(run), None)
        if r is not None:
            self.flush(r)

    def finish_all(self):
        for key in list(self.runs):
            r = self.runs.pop(key)
            try:
                self.flush(r)
            except Exception:
                pass


def _sweep_number(v):
    """v as a JSON metric, or None when it is not a number."""
    if isinstance(v, bool):
        return None
    if not isinstance(v, (int, float)):
        item = getattr(v, "item", None)   # numpy / torch scalars
        if item is None or getattr(v, "ndim", 1) != 0:
            return None
        try:
            v = item()
        except Exception:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
    if isinstance(v, float) and v - v != 0:
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    return v


def _sweep_flatten(out, prefix, data):
    for k, v in data.items():
        key = prefix + str(k)
        if isinstance(v, dict):
            if "_type" not in v:            # media/tables are left to the run file
                _sweep_flatten(out, key + ".", v)
            continue
        n = _sweep_number(v)
        if n is not None:
            out[key] = n


def _sweep_args(args, kwargs, names):
    vals = list(args) + [None] * (len(names) - len(args))
    return [kwargs.get(n, vals[i]) for i, n in enumerate(names)]


def _sweep_patch(wandb, rep):
    try:
        from wandb.sdk import wandb_run
        Run = wandb_run.Run
    except Exception:
        return
    orig_log, orig_alert, orig_finish = Run.log, Run.alert, Run.finish

    def log(self, *args, **kwargs):
        out = orig_log(self, *args, **kwargs)
        try:
            data, step, commit = _sweep_args(args, kwargs, ("data", "step", "commit"))
            rep.log(self, data, step, commit)
        except Exception:
            pass
        return out

    def alert(self, *args, **kwargs):
        out = orig_alert(self, *args, **kwargs)
        try:
            title, text, level = _sweep_args(args, kwargs, ("title", "text", "level"))
            level = getattr(level, "value", level) or "INFO"
            rep.write({"_wandb": "alert", "title": str(title), "text": str(text),
                       "level": str(level)})
        except Exception:
            pass
        return out

    def finish(self, *args, **kwargs):
        try:
            rep.finish(self)
        except Exception:
            pass
        return orig_finish(self, *args, **kwargs)

    for name, f, orig in (("log", log, orig_log), ("alert", alert, orig_alert),
                          ("finish", finish, orig_finish)):
        f.__name__, f.__doc__, f.__wrapped__ = orig.__name__, orig.__doc__, orig
        setattr(Run, name, f)

    init = getattr(wandb, "init", None)
    if callable(init):
        def offline_init(*args, **kwargs):
            if kwargs.get("mode") not in (None, "offline", "disabled", "dryrun"):
                kwargs["mode"] = "offline"
            return init(*args, **kwargs)
        offline_init.__name__, offline_init.__doc__ = init.__name__, init.__doc__
        offline_init.__wrapped__ = init
        wandb.init = offline_init
    import atexit
    atexit.register(rep.finish_all)


class _SweepWandbFinder:
    """On sys.meta_path until wandb is imported: finds nothing itself, but
    wraps wandb's loader so the patch follows the import."""

    def __init__(self, rep):
        self.rep = rep

    def find_spec(self, name, path=None, target=None):
        if name != "wandb":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec
        rep = self.rep

        def exec_then_patch(module):
            exec_module(module)
            _sweep_patch(module, rep)
        try:
            loader.exec_module = exec_then_patch
        except Exception:
            pass
        return spec


def _sweep_install():
    path = os.environ.get("SWEEP_METRICS_FILE")
    if not path:
        return
    rep = _SweepReporter(path)
    if "wandb" in sys.modules:
        _sweep_patch(sys.modules["wandb"], rep)
    else:
        sys.meta_path.insert(0, _SweepWandbFinder(rep))


_sweep_install()
_sweep_chain()
