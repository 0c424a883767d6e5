"""A stand-in for the wandb SDK, written for sweep's tests (never wandb's
code): init/config/log/alert/finish/summary as scripts use them.

- mode, by the precedence of wandb's SDK (at c7e38e8): init(mode=...),
  then init(settings=...) (a dict's "mode", or a Settings' mode when it
  differs from a default Settings()), then setup(settings=...), then
  $WANDB_MODE as it was when wandb first set up (init, setup), default
  "online". Online ("online", "run", "shared"), it tries $WANDB_BASE_URL
  (default https://api.wandb.ai) and fails the script as wandb does when no
  server answers ("Run initialization has timed out"). An unknown mode is
  wandb's UsageError.
- offline: writes $WANDB_DIR/wandb/offline-run-DATE-ID/run-ID.wandb (the
  framing and records wandb writes, only the fields sweep reads), buffered
  in 32 KiB blocks, so a killed run leaves an empty or partial file.
- config: the script's defaults, then the sweep's $WANDB_SWEEP_PARAM_PATH.
- A script that raises ends its run with exit code 1 (as wandb's hook).
"""
import atexit
import enum
import json
import os
import random
import socket
import string
import sys
import time
import urllib.parse

from .sdk import wandb_run
from .sdk.wandb_run import Run

__version__ = "0.0.0-standin"
run = None
config = None
summary = None
_exit_code = [0]


class AlertLevel(enum.Enum):
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


class Config(dict):
    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k)


class UsageError(Exception):
    pass


_MODES = ("dryrun", "run", "offline", "online", "disabled", "shared")


def _check_mode(mode):
    if mode is not None and mode not in _MODES:
        raise UsageError("Settings field `mode`: %r not in %s" % (mode, sorted(_MODES)))
    return mode


class Settings:
    """wandb.Settings as init() and setup() apply it at c7e38e8: only the
    fields that differ from a default Settings() count."""

    def __init__(self, **kwargs):
        self.mode = "online"
        self.project = None
        for k, v in kwargs.items():
            setattr(self, k, v)
        _check_mode(self.mode)


def _settings_mode(settings):
    if isinstance(settings, dict):
        return _check_mode(settings.get("mode"))
    if isinstance(settings, Settings) and settings.mode != Settings().mode:
        return settings.mode
    return None


_setup = None   # wandb's singleton: the environment's mode when it began


def setup(settings=None):
    global _setup
    if _setup is None:
        _setup = {"env": _check_mode(os.environ.get("WANDB_MODE")), "mode": None}
    mode = _settings_mode(settings)
    if mode is not None:
        _setup["mode"] = mode
    return _setup


def login(anonymous=None, key=None, relogin=None, host=None, force=None, timeout=None,
          verify=False):
    """wandb.login at c7e38e8: the mode is the environment's when it is
    called (not setup's); offline it returns False, and with verify=True
    fails as the SDK does there; online it needs a key, and verify=True
    asks the server."""
    mode = _check_mode(os.environ.get("WANDB_MODE")) or "online"
    if mode == "disabled":
        return True
    if mode in ("offline", "dryrun"):
        if verify:
            raise AttributeError("'NoneType' object has no attribute '_viewer'")
        return False
    if verify:
        _online_check()
    if key or os.environ.get("WANDB_API_KEY"):
        return True
    raise UsageError("api_key not configured (no-tty). call "
                     "wandb.login(key=[your_api_key])")


def _preinit(*a, **k):
    raise RuntimeError("You must call wandb.init() before wandb.log()")


log = alert = _preinit


def _value(text):
    text = text.strip()
    special = {".nan": float("nan"), ".inf": float("inf"), "-.inf": float("-inf"),
               "true": True, "false": False, "null": None}
    if text in special:
        return special[text]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _sweep_params(path):
    out, key = {}, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("wandb_version"):
                continue
            if not line.startswith(" ") and line.endswith(":"):
                key = line[:-1]
            elif key and line.strip().startswith("value:"):
                out[key] = _value(line.strip()[len("value:"):])
    return out


def _online_check():
    url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    u = urllib.parse.urlparse(url)
    try:
        socket.create_connection((u.hostname, u.port or 443), timeout=2).close()
    except OSError as e:
        raise RuntimeError("Run initialization has timed out after 90.0 sec. (%s: %s)"
                           % (url, e))
    raise RuntimeError("the wandb stand-in cannot run online (%s answered)" % url)


def _excepthook(kind, value, tb, _orig=sys.excepthook):
    _exit_code[0] = 1
    _orig(kind, value, tb)


def init(project=None, config=None, mode=None, name=None, settings=None, **kwargs):
    global run, log, alert, summary
    g = globals()
    if run is not None:
        run.finish()
    state = setup()
    mode = (_check_mode(mode) or _settings_mode(settings) or state["mode"] or state["env"]
            or "online")
    if mode in ("online", "run", "shared"):
        _online_check()
    cfg = Config(config or {})
    path = os.environ.get("WANDB_SWEEP_PARAM_PATH")
    if path:
        cfg.update(_sweep_params(path))
    run_id = os.environ.pop("WANDB_RUN_ID", None) or "".join(
        random.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    base = os.environ.get("WANDB_DIR") or os.getcwd()
    run_dir = os.path.join(base, "wandb", "offline-run-%s-%s" % (
        time.strftime("%Y%m%d_%H%M%S"), run_id))
    os.makedirs(os.path.join(run_dir, "files"), exist_ok=True)
    run = Run(run_id, project or "uncategorized", dict(cfg),
              os.environ.get("WANDB_SWEEP_ID", ""), run_dir)
    run.settings = Settings(mode=mode)
    g["config"] = cfg
    summary = run.summary
    log = run.log
    alert = run.alert
    return run


def define_metric(name, step_metric=None, summary=None, goal=None, **kwargs):
    """Accepted and ignored (the stand-in keeps each key's last value)."""
    if run is None:
        _preinit()


def finish(exit_code=None, quiet=None):
    global run
    if run is not None:
        run.finish(exit_code=exit_code)
    run = None


def _atexit():
    if run is not None:
        run.finish(exit_code=_exit_code[0])


sys.excepthook = _excepthook
atexit.register(_atexit)
