# sweep_wandb_report.py - written by `sweep run` beside its sitecustomize.py
# (embedded in the sweep binary: edit sweep/offline/wandb_report.py in sweep's
# sources); loaded by that module only when the script imports wandb.
#
# install(wandb, path) wraps wandb's Run.log / Run.alert / Run.finish: after
# wandb did its own work, each row wandb commits (commit=False merged, step=
# honoured as wandb does) and each alert is one JSON line appended to path
# with one write(2), under one lock with wandb's own call, so rows logged
# from several threads keep wandb's steps:
#   {"_wandb": "log", "_step": 3, "row": {"loss": 0.5, "val.acc": 0.9}}
#   {"_wandb": "alert", "title": "t", "text": "x", "level": "WARN"}
# Rows keep numbers only (nested dicts flattened to "a.b"; NaN and
# infinities as "NaN", "Infinity", "-Infinity"); strings, booleans, None,
# lists and media are left to the run file, which sweep reads when the run
# ends. It never changes the arguments wandb gets, except that a
# wandb.init() that would run online gets mode="offline" (sweep runs wandb
# offline; see _SweepModes) and a wandb.login() that would go online logs
# in offline (_sweep_offline_login), and it never raises into the script: a
# failure to report is silent.
import os


class _SweepRows:
    """wandb's step bookkeeping for one run: the row being built and its step."""

    def __init__(self, step):
        self.step = step
        self.pending = {}


# wandb's modes (its Settings validator); the others are offline or none.
_SWEEP_ONLINE = ("online", "run", "shared")
_SWEEP_MODES = _SWEEP_ONLINE + ("offline", "dryrun", "disabled")


def _sweep_settings_mode(settings):
    """The mode a settings= value (dict or wandb.Settings) sets, or None."""
    if settings is None:
        return None
    if isinstance(settings, dict):
        return settings.get("mode")
    mode = getattr(settings, "mode", None)
    explicit = getattr(settings, "model_fields_set", None)   # pydantic Settings
    if explicit is not None:
        return mode if "mode" in explicit else None
    try:    # older SDKs apply only what differs from a default Settings()
        if mode == settings.__class__().mode:
            return None
    except Exception:
        pass
    return mode


class _SweepModes:
    """Which wandb.init() calls would run online, by wandb's precedence:
    init's mode=, init's settings=, wandb.setup()'s settings, $WANDB_MODE
    (as wandb saw it when it set up, or now), default "online". A doubt
    counts as online: an offline run is never wrong under sweep."""

    def __init__(self):
        self.setup_mode = None
        self.env_seen = {os.environ.get("WANDB_MODE")}

    def saw_setup(self, settings):
        self.env_seen.add(os.environ.get("WANDB_MODE"))
        mode = _sweep_settings_mode(settings)
        if mode is not None:
            self.setup_mode = mode

    def online(self, mode, settings):
        if mode is None:
            mode = _sweep_settings_mode(settings)
        if mode is None:
            mode = self.setup_mode
        if mode is not None:
            return mode in _SWEEP_ONLINE     # a bad mode is wandb's to refuse
        self.env_seen.add(os.environ.get("WANDB_MODE"))
        return any(m is None or m in _SWEEP_ONLINE for m in self.env_seen)


class _SweepReporter:
    """Held by the wrappers around wandb's call and the bookkeeping after
    it (lock), so rows get their steps in the order wandb took the calls
    when threads log at once; re-entrant in case wandb calls itself."""

    def __init__(self, path):
        import threading
        self.path = path
        self.fd = -1
        self.runs = {}
        self.key = None          # json's C string encoder, once wandb is in
        self.lock = threading.RLock()
        if hasattr(os, "register_at_fork"):    # a child forked while a thread
            os.register_at_fork(after_in_child=self.new_lock)   # held it

    def new_lock(self):
        import threading
        self.lock = threading.RLock()

    def write_line(self, line):
        if self.fd < 0:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                              | getattr(os, "O_CLOEXEC", 0), 0o644)
        os.write(self.fd, line.encode())

    def write(self, obj):
        import json
        self.write_line(json.dumps(obj, separators=(",", ":")) + "\n")

    def write_row(self, step, row):
        # by hand: twice as fast as json.dumps for a small row. Values are
        # ints, finite floats (repr is JSON's) or the NaN strings.
        es = self.key
        self.write_line('{"_wandb":"log","_step":%d,"row":{%s}}\n' % (step, ",".join(
            [es(k) + ":" + (es(v) if v.__class__ is str else repr(v))
             for k, v in row.items()])))

    def rows(self, run):
        r = self.runs.get(id(run))
        if r is None:
            step = getattr(run, "_starting_step", 0)
            r = self.runs[id(run)] = _SweepRows(step if isinstance(step, int) else 0)
        return r

    def flush(self, r):
        if r.pending:
            row, r.pending = r.pending, {}
            self.write_row(r.step, row)

    # wandb's rules (Run.log): a step below the current one is dropped; a
    # higher one commits the pending row first; commit=False merges into
    # the next committed row; step= without commit=True waits for a later
    # step (or finish).
    def log(self, run, data, step, commit):
        if not hasattr(data, "items"):      # wandb takes any Mapping
            return
        r = self.rows(run)
        if step is not None:
            try:
                step = step.__index__()     # numpy and torch integers too
            except Exception:
                return
            if step < r.step:
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
        # at exit a daemon thread may be stuck inside wandb.log holding the
        # lock: wait a little, then flush anyway
        locked = self.lock.acquire(timeout=5)
        try:
            for key in list(self.runs):
                r = self.runs.pop(key)
                try:
                    self.flush(r)
                except Exception:
                    pass
        finally:
            if locked:
                self.lock.release()


_SWEEP_INT_LIMIT = 1 << 63


def _sweep_number(v):
    """v as a JSON metric, or None when it is not a number."""
    c = v.__class__
    if c is float:
        if v - v == 0:
            return v
    elif c is int and -_SWEEP_INT_LIMIT <= v < _SWEEP_INT_LIMIT:
        return v
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
    if isinstance(v, float):
        if v - v != 0:
            return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
        return float(v)            # a float subclass (numpy.float64) as float
    v = int(v)                     # an int subclass (IntEnum) as int
    if -_SWEEP_INT_LIMIT <= v < _SWEEP_INT_LIMIT:
        return v
    try:
        return float(v)            # beyond int64: sweep reads it as a real
    except OverflowError:
        return "Infinity" if v > 0 else "-Infinity"


def _sweep_flatten(out, prefix, data):
    for k, v in data.items():
        key = prefix + k if k.__class__ is str else prefix + str(k)
        if isinstance(v, dict):
            if "_type" not in v:            # media/tables are left to the run file
                _sweep_flatten(out, key + ".", v)
            continue
        n = _sweep_number(v)
        if n is not None:
            out[key] = n


def _sweep_args(args, kwargs, names):
    """The values of the parameters named in positional order."""
    return _sweep_bound(args, kwargs, list(enumerate(names)))


def _sweep_bound(args, kwargs, at):
    """The values of the (position, name) parameters of _sweep_positions."""
    n = len(args)
    return [args[i] if i < n else kwargs.get(name) for i, name in at]


def _sweep_positions(f, names):
    """(position, name) of each named parameter of f; a parameter that
    cannot be positional gets a position no call reaches."""
    out = []
    try:
        import inspect
        params = list(inspect.signature(f).parameters.values())
    except Exception:
        params = []
    for name in names:
        pos = 1 << 30
        for i, p in enumerate(params):
            if p.name == name:
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                    pos = i
                break
        out.append((pos, name))
    return out


def _sweep_wraps(f, orig):
    f.__name__, f.__doc__, f.__wrapped__ = orig.__name__, orig.__doc__, orig


_SWEEP_UNSET = object()


def _sweep_offline_login(args, kwargs, at):
    """Makes a wandb.login() call that would go online (or verify its key
    with the server) log in offline, as wandb.init() runs under sweep:
    wandb.login reads $WANDB_MODE when it is called, so it is set to
    offline for the call (and verify dropped: offline, wandb itself fails
    on it). Changes args/kwargs in place; returns what to restore (None:
    nothing changed)."""
    try:
        mode = os.environ.get("WANDB_MODE")
        pos = at[0][0]
        verify = _sweep_bound(args, kwargs, at)[0]
        if mode == "disabled" or (mode not in (None,) + _SWEEP_ONLINE and
                                  not verify):
            return None
        if len(args) > pos:
            args[pos] = False
        elif "verify" in kwargs:
            kwargs["verify"] = False
        os.environ["WANDB_MODE"] = "offline"
        return _SWEEP_UNSET if mode is None else mode
    except Exception:
        return None


def _sweep_restore_mode(saved):
    if saved is None:
        return
    if saved is _SWEEP_UNSET:
        os.environ.pop("WANDB_MODE", None)
    else:
        os.environ["WANDB_MODE"] = saved


def _sweep_patch(wandb, rep):
    try:
        from json.encoder import encode_basestring_ascii
        from wandb.sdk import wandb_run
        Run = wandb_run.Run
    except Exception:
        return
    rep.key = encode_basestring_ascii
    orig_log, orig_alert, orig_finish = Run.log, Run.alert, Run.finish

    def log(self, *args, **kwargs):
        with rep.lock:
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
            with rep.lock:
                rep.write({"_wandb": "alert", "title": str(title), "text": str(text),
                           "level": str(level)})
        except Exception:
            pass
        return out

    def finish(self, *args, **kwargs):
        try:
            with rep.lock:
                rep.finish(self)
        except Exception:
            pass
        return orig_finish(self, *args, **kwargs)

    for name, f, orig in (("log", log, orig_log), ("alert", alert, orig_alert),
                          ("finish", finish, orig_finish)):
        _sweep_wraps(f, orig)
        setattr(Run, name, f)

    modes = _SweepModes()
    init, setup = getattr(wandb, "init", None), getattr(wandb, "setup", None)
    if callable(init):
        at = _sweep_positions(init, ("mode", "settings"))
        mode_at = at[0][0]

        def offline_init(*args, **kwargs):
            try:
                if modes.online(*_sweep_bound(args, kwargs, at)):
                    if len(args) > mode_at:
                        args = args[:mode_at] + ("offline",) + args[mode_at + 1:]
                    else:
                        kwargs["mode"] = "offline"
            except Exception:
                pass
            return init(*args, **kwargs)
        _sweep_wraps(offline_init, init)
        wandb.init = offline_init
    if callable(setup):
        at_setup = _sweep_positions(setup, ("settings",))

        def noted_setup(*args, **kwargs):
            try:
                modes.saw_setup(_sweep_bound(args, kwargs, at_setup)[0])
            except Exception:
                pass
            return setup(*args, **kwargs)
        _sweep_wraps(noted_setup, setup)
        wandb.setup = noted_setup
    login = getattr(wandb, "login", None)
    if callable(login):
        at_login = _sweep_positions(login, ("verify",))

        def offline_login(*args, **kwargs):
            args = list(args)
            saved = _sweep_offline_login(args, kwargs, at_login)
            try:
                return login(*args, **kwargs)
            finally:
                _sweep_restore_mode(saved)
        _sweep_wraps(offline_login, login)
        wandb.login = offline_login
    import atexit
    atexit.register(rep.finish_all)


def install(wandb, path):
    _sweep_patch(wandb, _SweepReporter(path))
