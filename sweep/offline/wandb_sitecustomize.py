# sitecustomize.py - written by `sweep run` into the sweep's directory and
# put first on PYTHONPATH of every run it starts; embedded in the sweep
# binary (sweep/offline/wandb_hook.c), so edit the copy in sweep's sources
# (sweep/offline/wandb_sitecustomize.py).
#
# Kept small, as every Python of the run loads it:
#   1. it chains to the sitecustomize that was next on the path (Debian's,
#      a virtualenv's, the user's) and takes its own directory off sys.path,
#      so sys.path is what it would have been without sweep;
#   2. it waits for the script to import wandb (a finder on sys.meta_path
#      that finds nothing itself and leaves once wandb is imported), then
#      loads sweep_wandb_report.py from its directory, which reports wandb's
#      rows and alerts to $SWEEP_METRICS_FILE.
# Without $SWEEP_METRICS_FILE it only chains.
import os
import sys

_sweep_dir = os.path.dirname(os.path.abspath(__file__))


def _sweep_chain():
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _sweep_dir]
    ours = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401  (the next one on the path)
    except ImportError as e:
        if e.name != "sitecustomize":
            raise
        if ours is not None:
            sys.modules["sitecustomize"] = ours


def _sweep_report(wandb, path):
    try:
        name = os.path.join(_sweep_dir, "sweep_wandb_report.py")
        with open(name) as f:
            code = compile(f.read(), name, "exec")
        ns = {"__name__": "sweep_wandb_report", "__file__": name}
        exec(code, ns)
        ns["install"](wandb, path)
    except Exception:
        pass                    # never into the script


class _SweepWandbFinder:
    """On sys.meta_path until wandb is imported: finds nothing itself, but
    wraps wandb's loader so the report follows the import."""

    def __init__(self, path):
        self.path = path

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
        out = self.path

        def exec_then_report(module):
            exec_module(module)
            _sweep_report(module, out)
        try:
            loader.exec_module = exec_then_report
        except Exception:
            pass
        return spec


def _sweep_install():
    path = os.environ.get("SWEEP_METRICS_FILE")
    if not path:
        return
    if "wandb" in sys.modules:
        _sweep_report(sys.modules["wandb"], path)
    else:
        sys.meta_path.insert(0, _SweepWandbFinder(path))


_sweep_install()
_sweep_chain()
