"""Stand-in for wandb's Run, written for sweep's tests: the parts of its
behaviour sweep relies on (history steps, commit=False merging, summary,
alerts, the offline run file), never wandb's code."""
import json
import os
import threading
import time

from . import runfile


class Summary(dict):
    pass


class Run:
    def __init__(self, run_id, project, config, sweep_id, run_dir):
        self.id = run_id
        self.project = project
        self.config = config
        self.dir = run_dir
        self.summary = Summary()
        self._step = 0
        self._pending = {}
        self._t0 = time.time()
        self._finished = False
        self._lock = threading.RLock()   # wandb serialises Run.log
        self._file = runfile.Writer(os.path.join(run_dir, "run-%s.wandb" % run_id))
        body = runfile.f_bytes(1, run_id) + runfile.f_bytes(3, project)
        body += runfile.f_bytes(4, b"".join(runfile.f_bytes(1, runfile.item(k, v))
                                            for k, v in config.items()))
        body += runfile.f_bytes(12, sweep_id)
        self._file.add(17, body)

    @property
    def step(self):
        return self._step

    def _commit(self):
        if not self._pending:
            return
        row = dict(self._pending)
        self._pending = {}
        now = time.time()
        row.update({"_step": self._step, "_runtime": now - self._t0, "_timestamp": now})
        items = b"".join(runfile.f_bytes(1, runfile.item(k, v)) for k, v in row.items())
        self._file.add(2, items + runfile.f_bytes(2, runfile.f_int(1, 0)))
        self.summary.update(row)

    def log(self, data, step=None, commit=None, sync=None):
        with self._lock:
            self._log(data, step, commit)

    def _log(self, data, step, commit):
        if self._finished:
            raise RuntimeError("log after finish")
        if step is not None:
            if step < self._step:
                print("wandb: WARNING Tried to log to step %d that is less than the "
                      "current step %d" % (step, self._step))
                return
            if step > self._step:
                self._commit()
                self._step = step
            self._pending.update(data)
            if commit:
                self._commit()
                self._step += 1
            return
        self._pending.update(data)
        if commit is None or commit:
            self._commit()
            self._step += 1

    def alert(self, title, text, level=None, wait_duration=None):
        level = getattr(level, "value", level) or "INFO"
        body = (runfile.f_bytes(1, title) + runfile.f_bytes(2, text) +
                runfile.f_bytes(3, level))
        self._file.add(10, body)

    def finish(self, exit_code=None, quiet=None):
        if self._finished:
            return
        self._commit()
        self._finished = True
        code = 0 if exit_code is None else exit_code
        self._file.add(18, runfile.f_int(1, code) +
                       runfile.f_int(2, int(time.time() - self._t0)))
        summary = dict(self.summary)
        self._file.add(3, b"".join(runfile.f_bytes(1, runfile.item(k, v))
                                   for k, v in summary.items()))
        self._file.add(22, b"")
        self._file.close()
        import wandb
        wandb.run = None
