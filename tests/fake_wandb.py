#!/usr/bin/env python3
"""fake_wandb.py - a fake wandb server for the tests (Python 3 standard library).

It implements, strictly, the operations of ../shared/docs/wandb-protocol.md that
`sweep` uses, and can inject faults. Tests start it on 127.0.0.1 with an
ephemeral port and read everything it received from a JSON record file.

USAGE
    python3 tests/fake_wandb.py [--record FILE] [--config JSON_OR_FILE] [--port N]

    It binds 127.0.0.1 (port 0 = ephemeral), prints the port number alone on
    the first line of stdout (flushed), then serves until killed (SIGTERM).
    The base URL for `sweep` is http://127.0.0.1:PORT.

CONFIG (JSON object; all keys optional)
    "api_key":   the only accepted key (default "fakekey-" + 32 "0"s, see
                 DEFAULT_KEY). Requests must carry `Authorization: Basic
                 base64("api:KEY")`, else HTTP 401 with a GraphQL errors body.
    "entity":    the viewer's default entity (default "alice").
    "sweep_warnings": strings added to every UpsertSweep's
                 configValidationWarnings.
    "sweeps":    pre-existing sweeps {NAME: {"entity", "project", "config"
                 (YAML text), "state" (default RUNNING)}}. SweepWithRuns
                 names the project the sweep is in (`project {name entity
                 {name}}`), as wandb's server does.
    "commands":  heartbeat commands per sweep {SWEEP_NAME: [cmd, ...]}: each
                 heartbeat of an agent of that sweep hands out the next one
                 (as a one-element list); a "run"/"resume" command without
                 "run_id" gets a fresh 8-character id. When the list is
                 used up heartbeats return [] (or [{"type": "exit"}] when
                 "exit_when_done" is true).
    "exit_when_done": see above.
    "stop_runs": run ids whose file_stream answers carry "stopped": true.
    "runs":      pre-existing runs {NAME: {fields of the record's runs, e.g.
                 "sweep", "state", "config" (value-wrapped), "history"}}.
    "auto_schedule": act as wandb's backend for local-controller sweeps: an
                 UpsertSweep `controller` schedule entry with args becomes a
                 run (recorded, state "running") queued as a run command for
                 the sweep's agents and listed in the sweep's `scheduler`
                 {"scheduled": [{"id", "runid"}]}; an entry with null args
                 marks the sweep FINISHED.
    "strict_run_ids": (default true) an UpsertBucket with a `sweep` must use
                 a run id that a heartbeat of that sweep handed out (the
                 protocol notes: it "must equal the run_id from the heartbeat
                 command"); false lets any name join (e.g. for sync tests).
    "refuse_first": seconds to keep the port closed after printing it.
    "wandb_mock": answer as wandb's historical test server (its Flask
                 mock_server.py of tests/pytest_tests/unit_tests_old) did:
                 sweep states in lower case (a sweep's state defaults to
                 "running"), SweepWithRuns without the project's name, no
                 state check in CreateAgent, fixed ids (the viewer
                 "mock_server_entity", agent "mock-server-agent-93xy", run
                 commands without run_id numbered "mocker-sweep-run-x91",
                 "-x92", ...), and UpsertBucket putting a run given no project
                 in project "test" of entity "mock_server_entity". Heartbeat
                 `commands` stay a JSON-encoded string, as in every mode.
    "faults":    a list of faults, applied in order to matching requests:
        {"op": OP,            which requests: a GraphQL operation name
                              (Viewer, UpsertSweep, CreateAgent, Heartbeat,
                              UpsertBucket, NotifyScriptableRunAlert,
                              SweepWithRuns), "graphql" (any of them),
                              "file_stream", or "*" (default)
         "skip": N,           let the first N matching requests through
                              (every fault counts every matching request)
         "times": N,          then hit the next N (default 1; -1 = forever)
         "action": one of
            "status"          answer "status" (default 500) with "body"
                              (JSON, default a GraphQL errors body) and a
                              Retry-After header when "retry_after" is set
            "drop"            close the connection without answering, before
                              processing the request
            "drop_after"      process the request, then close the connection
                              without answering (the client must re-send
                              without duplicating anything)
            "slow"            wait "delay" seconds, then process normally
            "refuse"          close the connection and keep the port closed
                              for "seconds" (default 1) so connections are
                              refused, then listen again
        }

CONTROL (no auth, never faulted)
    GET  /_control/state    the record (below) as JSON
    POST /_control/config   merge a JSON object into the config ("faults"
                            replaces the fault list; "commands" entries are
                            appended per sweep; "stop_runs" extends)

RECORD (written atomically to --record after every request, and served by
GET /_control/state):
    {"requests":  [{"n", "method", "path", "op", "auth": true|false,
                    "variables" | "body", "status", "fault"}],
     "sweeps":    {NAME: {"id", "name", "entity", "project", "config",
                          "config_parsed", "state", "controller", "scheduler",
                          "warnings"}},
     "agents":    {ID: {"id", "sweep", "host", "entity", "project",
                        "heartbeats": [runState objects]}},
     "runs":      {RUN_ID: {"name", "entity", "project", "sweep", "config",
                            "host", "program", "upserts", "history": [rows],
                            "summary", "complete", "exitcode",
                            "file_stream_posts", "resent_lines", "state",
                            "preempting" (once a file_stream body said
                            "preempting": true; state "preempting")}},
     "alerts":    [variables of each NotifyScriptableRunAlert],
     "issued_runs": {RUN_ID: SWEEP_NAME} for every run command handed out,
     "violations": ["what a client did against the protocol", ...],
     "yaml_loader": "pyyaml" | "mini"}
A test asserts on "violations" being empty as well as on the data.

Protocol checks (each failure answers 400 and is listed in "violations"):
GraphQL body must be {"query": str, "variables": object}; every variable must
be declared by the query with a compatible type and every `Type!` present;
JSONString variables must hold valid JSON; UpsertBucket `config` must be
{key: {"value": v}}; file_stream history offsets must continue exactly where
the accepted lines end (an offset below that must re-send identical lines:
they overwrite, they are never appended twice), each line a JSON object with
an integer `_step` greater than the previous one, `_runtime` and
`_timestamp`; nothing may follow {"complete": true, "exitcode": int} except
the identical completion re-sent (its answer was lost; counted in the run's
"resent_completions").
"""

import base64
import json
import os
import random
import re
import socket
import string
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_KEY = "fakekey-" + "0" * 32

LOCK = threading.RLock()
CONFIG = {}
RECORD = {"requests": [], "sweeps": {}, "agents": {}, "runs": {}, "alerts": [],
          "violations": [], "yaml_loader": None, "issued_runs": {}}
RECORD_PATH = None
FAULT_STATE = []        # per fault: matched count
STATE = {"server": None, "down_until": 0.0, "port": 0}


def rand_id(n=8):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


# ==== A small YAML 1.1 reader (PyYAML's resolution rules) ====

YAML11_BOOL = {"yes": True, "Yes": True, "YES": True, "no": False, "No": False, "NO": False,
               "true": True, "True": True, "TRUE": True, "false": False, "False": False,
               "FALSE": False, "on": True, "On": True, "ON": True, "off": False, "Off": False,
               "OFF": False, "y": True, "Y": True, "n": False, "N": False}
YAML11_FLOAT = re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
                          r"|\.[0-9_]+(?:[eE][-+][0-9]+)?"
                          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
YAML11_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
                        r"|[-+]?0x[0-9a-fA-F_]+)$")


def resolve_plain(s):
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s in YAML11_BOOL:
        return YAML11_BOOL[s]
    if YAML11_INT.match(s):
        t = s.replace("_", "")
        sign = -1 if t.startswith("-") else 1
        t = t.lstrip("+-")
        if t.startswith("0b"):
            return sign * int(t[2:], 2)
        if t.startswith("0x"):
            return sign * int(t[2:], 16)
        if len(t) > 1 and t.startswith("0"):
            return sign * int(t, 8)
        return sign * int(t)
    if YAML11_FLOAT.match(s):
        t = s.replace("_", "").lower()
        if t.endswith("inf"):
            return float("-inf") if t.startswith("-") else float("inf")
        if t.endswith("nan"):
            return float("nan")
        return float(t)
    return s


class MiniYamlError(Exception):
    pass


def parse_scalar(text):
    text = text.strip()
    if text.startswith('"'):
        end = find_quote_end(text, 0)
        return json.loads(text[:end + 1])
    if text.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'", text)
        if not m:
            raise MiniYamlError("bad single-quoted scalar: " + text)
        return m.group(1).replace("''", "'")
    if text.startswith("[") or text.startswith("{"):
        return parse_flow(text)
    if " #" in text:
        text = text[:text.index(" #")].rstrip()
    return resolve_plain(text)


def find_quote_end(text, start):
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    raise MiniYamlError("unterminated double-quoted scalar")


def parse_flow(text):
    pos = [0]

    def skip():
        while pos[0] < len(text) and text[pos[0]] in " \t":
            pos[0] += 1

    def value():
        skip()
        c = text[pos[0]]
        if c == "[":
            pos[0] += 1
            out = []
            skip()
            if text[pos[0]] == "]":
                pos[0] += 1
                return out
            while True:
                out.append(value())
                skip()
                c = text[pos[0]]
                pos[0] += 1
                if c == "]":
                    return out
                if c != ",":
                    raise MiniYamlError("bad flow sequence")
        if c == "{":
            pos[0] += 1
            out = {}
            skip()
            if text[pos[0]] == "}":
                pos[0] += 1
                return out
            while True:
                k = value()
                skip()
                if text[pos[0]] != ":":
                    raise MiniYamlError("bad flow mapping")
                pos[0] += 1
                out[k] = value()
                skip()
                c = text[pos[0]]
                pos[0] += 1
                if c == "}":
                    return out
                if c != ",":
                    raise MiniYamlError("bad flow mapping")
        if c == '"':
            end = find_quote_end(text, pos[0])
            s = json.loads(text[pos[0]:end + 1])
            pos[0] = end + 1
            return s
        m = re.compile(r"[^,\]}:]*").match(text, pos[0])
        pos[0] = m.end()
        return resolve_plain(m.group(0).strip())

    v = value()
    skip()
    if pos[0] != len(text):
        raise MiniYamlError("trailing text after flow collection: " + text)
    return v


def mini_yaml_load(text):
    lines = []
    for raw in text.split("\n"):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        lines.append((len(raw) - len(raw.lstrip(" ")), raw.strip()))
    pos = [0]

    def block(indent):
        if pos[0] >= len(lines):
            return None
        ind, text = lines[pos[0]]
        if text.startswith("- ") or text == "-":
            return seq(ind)
        return mapping(ind)

    def key_value(text):
        if text.startswith('"'):
            end = find_quote_end(text, 0)
            key = json.loads(text[:end + 1])
            rest = text[end + 1:]
            if not rest.startswith(":"):
                raise MiniYamlError("expected ':' after key")
            return key, rest[1:].strip()
        m = re.match(r"([^:#]+?):(?:\s+(.*)|$)", text)
        if not m:
            raise MiniYamlError("expected 'key: value', got: " + text)
        return resolve_plain(m.group(1).strip()), (m.group(2) or "").strip()

    def mapping(ind, first=None):
        out = {}
        while pos[0] < len(lines) or first is not None:
            if first is not None:
                text, first = first, None
            else:
                lind, text = lines[pos[0]]
                if lind < ind:
                    break
                if lind > ind:
                    raise MiniYamlError("bad indentation: " + text)
                if text.startswith("- "):
                    break
                pos[0] += 1
            k, v = key_value(text)
            if v == "":
                if pos[0] < len(lines) and (lines[pos[0]][0] > ind or
                                            (lines[pos[0]][0] == ind and
                                             lines[pos[0]][1].startswith("- "))):
                    out[k] = block(lines[pos[0]][0])
                else:
                    out[k] = None
            else:
                out[k] = parse_scalar(v)
        return out

    def seq(ind):
        out = []
        while pos[0] < len(lines):
            lind, text = lines[pos[0]]
            if lind != ind or not (text.startswith("- ") or text == "-"):
                break
            pos[0] += 1
            item = text[1:].strip()
            if item == "":
                out.append(block(lines[pos[0]][0]) if pos[0] < len(lines) and
                           lines[pos[0]][0] > ind else None)
            elif re.match(r'^(?:"(?:[^"\\]|\\.)*"|[^"\'\[{][^:]*?):(?:\s|$)', item):
                out.append(mapping(ind + 2, first=item))
            else:
                out.append(parse_scalar(item))
        return out

    v = block(0)
    if pos[0] != len(lines):
        raise MiniYamlError("could not parse line: " + lines[pos[0]][1])
    return v


def yaml_load(text):
    try:
        import yaml  # PyYAML: what wandb's sweep service really uses
        RECORD["yaml_loader"] = "pyyaml"
        return yaml.safe_load(text)
    except ImportError:
        RECORD["yaml_loader"] = "mini"
        return mini_yaml_load(text)


def jsonable(v):
    """Floats that JSON cannot hold (inf, nan) become strings."""
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return repr(v)
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


# ==== Record ====

def save_record():
    if not RECORD_PATH:
        return
    tmp = RECORD_PATH + ".tmp"
    with open(tmp, "w") as f:
        json.dump(RECORD, f, indent=1, sort_keys=True)
    os.replace(tmp, RECORD_PATH)


def violation(msg):
    RECORD["violations"].append(msg)


# ==== GraphQL checks ====

OP_RE = re.compile(r"^\s*(query|mutation)\s+(\w+)")
VAR_RE = re.compile(r"\$(\w+)\s*:\s*(\[?\w+!?\]?!?)")


class GqlError(Exception):
    def __init__(self, message, status=200, path=None):
        super().__init__(message)
        self.status = status
        self.path = path


def check_type(name, typ, value):
    base = typ.rstrip("!")
    if value is None:
        if typ.endswith("!"):
            raise GqlError("variable $%s of type %s must not be null" % (name, typ), 400)
        return
    if base.startswith("["):
        inner = base[1:-1].rstrip("!")
        items = value if isinstance(value, list) else [value]  # GraphQL list coercion
        for x in items:
            check_type(name, inner + "!", x)
        return
    if base in ("String", "ID"):
        ok = isinstance(value, str)
    elif base == "JSONString":
        ok = isinstance(value, str)
        if ok:
            try:
                json.loads(value)
            except ValueError:
                raise GqlError("variable $%s is not a valid JSONString" % name, 400)
    elif base == "Boolean":
        ok = isinstance(value, bool)
    elif base in ("Int", "Duration"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif base == "AlertSeverity":
        ok = value in ("INFO", "WARN", "ERROR")
    else:
        ok = True
    if not ok:
        raise GqlError("variable $%s has the wrong type for %s: %r" % (name, typ, value), 400)


def check_variables(query, variables):
    header = query[:query.index("{")] if "{" in query else query
    declared = dict(VAR_RE.findall(header))
    for k in variables:
        if k not in declared:
            raise GqlError("variable $%s is not declared by the operation" % k, 400)
    for k, typ in declared.items():
        if typ.endswith("!") and variables.get(k) is None:
            raise GqlError("variable $%s of required type %s was not provided" % (k, typ), 400)
        if k in variables:
            check_type(k, typ, variables[k])


# ==== Operations ====

KNOWN_SWEEP_KEYS = {"method", "metric", "parameters", "early_terminate", "program", "command",
                    "name", "description", "project", "entity", "run_cap", "controller",
                    "job", "image_uri", "launch", "scheduler", "settings", "apiVersion"}


JSON_NUMBER = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$")


def walk(v, where):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from walk(x, "%s.%s" % (where, k) if where else str(k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from walk(x, "%s[%d]" % (where, i))
    else:
        yield where, v


def find_sweep(name, entity=None, project=None):
    s = RECORD["sweeps"].get(name)
    if s is None:
        return None
    if entity and s["entity"] != entity:
        return None
    if project and s["project"] != project:
        return None
    return s


MOCK_ENTITY = "mock_server_entity"
MOCK_AGENT_ID = "mock-server-agent-93xy"


def mock():
    return bool(CONFIG.get("wandb_mock"))


def default_entity():
    return CONFIG.get("entity", MOCK_ENTITY if mock() else "alice")


def op_viewer(v):
    e = default_entity()
    return {"viewer": {"id": "VXNlcjox", "entity": e, "username": e, "email": e + "@example.com",
                       "flags": None, "teams": {"edges": [{"node": {"name": e + "-team"}}]}}}


def op_upsert_sweep(v):
    warnings = list(CONFIG.get("sweep_warnings", []))
    if v.get("id"):
        s = next((x for x in RECORD["sweeps"].values() if x["id"] == v["id"]), None)
        if s is None:
            raise GqlError("sweep with id %s not found" % v["id"], 404, "upsertSweep")
    else:
        if not v.get("config"):
            raise GqlError("a new sweep needs a config", 400, "upsertSweep")
        name = rand_id()
        s = {"id": base64.b64encode(("Sweep:" + name).encode()).decode(), "name": name,
             "entity": v.get("entityName") or CONFIG.get("entity", "alice"),
             "project": v.get("projectName") or "uncategorized", "state": "RUNNING",
             "controller": None, "scheduler": None, "config": None, "config_parsed": None,
             "warnings": []}
    if v.get("config") is not None:
        try:
            parsed = yaml_load(v["config"])
        except Exception as e:  # noqa: BLE001 - any loader error is the client's fault
            raise GqlError("invalid sweep config YAML: %s" % e, 400, "upsertSweep")
        if not isinstance(parsed, dict):
            raise GqlError("sweep config is not a mapping", 400, "upsertSweep")
        if "method" not in parsed:
            raise GqlError("sweep config has no method", 400, "upsertSweep")
        for where, x in walk(parsed, ""):
            if isinstance(x, str) and JSON_NUMBER.match(x):
                warnings.append("%s: '%s' is a string under YAML 1.1, not a number" % (where, x))
        for k in parsed:
            if k not in KNOWN_SWEEP_KEYS:
                warnings.append("Additional properties are not allowed ('%s' was unexpected)" % k)
        s["config"] = v["config"]
        s["config_parsed"] = jsonable(parsed)
    for key in ("controller", "scheduler"):
        if v.get(key) is not None:
            s[key] = v[key]
    if v.get("controller") is not None and CONFIG.get("auto_schedule"):
        backend_schedule(s)
    if v.get("state"):
        s["state"] = v["state"]
    if v.get("description") is not None:
        s["description"] = v["description"]
    s["warnings"] = warnings
    RECORD["sweeps"][s["name"]] = s
    return {"upsertSweep": {"sweep": {"name": s["name"], "project": {
        "id": "UHJvamVjdDox", "name": s["project"],
        "entity": {"id": "RW50aXR5OjE=", "name": s["entity"]}}},
        "configValidationWarnings": warnings}}


def backend_schedule(s):
    """What wandb's backend does with a local controller's schedule: each new
    entry with args becomes a run (state "running", as if an agent took it at
    once) handed out to agents as a run command, and {id, runid} is appended
    to the sweep's scheduler."""
    try:
        ctl = json.loads(s["controller"])
    except (TypeError, ValueError):
        violation("controller is not JSON: %r" % (s["controller"],))
        return
    sched = json.loads(s["scheduler"]) if s.get("scheduler") else {"scheduled": []}
    done = {x["id"] for x in sched["scheduled"]}
    for entry in ctl.get("schedule", []):
        if not isinstance(entry, dict) or "id" not in entry or "data" not in entry:
            violation("bad schedule entry %r" % (entry,))
            continue
        if entry["id"] in done:
            continue
        args = entry["data"].get("args")
        if args is None:
            s["state"] = "FINISHED"
            sched["scheduled"].append({"id": entry["id"], "runid": None})
            continue
        for k, x in args.items():
            if not isinstance(x, dict) or "value" not in x:
                violation("schedule args entry '%s' is not value-wrapped" % k)
        rid = rand_id()
        RECORD["issued_runs"][rid] = s["name"]
        RECORD["runs"][rid] = {
            "name": rid, "entity": s["entity"], "project": s["project"],
            "sweep": s["name"], "config": args, "host": None, "program": None,
            "upserts": 0, "history": [], "summary": None, "complete": False,
            "exitcode": None, "file_stream_posts": 0, "resent_lines": 0, "state": "running"}
        CONFIG.setdefault("commands", {}).setdefault(s["name"], []).append(
            {"type": "run", "run_id": rid, "args": args})
        sched["scheduled"].append({"id": entry["id"], "runid": rid})
    s["scheduler"] = json.dumps(sched)


def op_create_agent(v):
    s = find_sweep(v["sweep"], v.get("entityName"), v.get("projectName"))
    if s is None:
        raise GqlError("Sweep %s/%s/%s not found" % (v.get("entityName"), v.get("projectName"),
                                                     v["sweep"]), 404, "createAgent")
    if not mock() and s["state"] not in ("RUNNING", "PENDING"):
        raise GqlError("Sweep %s is not running" % s["name"], 400, "createAgent")
    aid = MOCK_AGENT_ID if mock() else base64.b64encode(("Agent:" + rand_id()).encode()).decode()
    RECORD["agents"][aid] = {"id": aid, "sweep": s["name"], "host": v["host"],
                             "entity": v.get("entityName"), "project": v.get("projectName"),
                             "heartbeats": []}
    return {"createAgent": {"agent": {"id": aid}}}


def op_heartbeat(v):
    a = RECORD["agents"].get(v["id"])
    if a is None:
        raise GqlError("agent %s not found" % v["id"], 404, "agentHeartbeat")
    s = RECORD["sweeps"].get(a["sweep"])
    if s is None:
        raise GqlError("sweep %s not found" % a["sweep"], 404, "agentHeartbeat")
    run_state = json.loads(v.get("runState") or "{}")
    if not isinstance(run_state, dict) or any(x is not True for x in run_state.values()):
        violation("heartbeat runState is not {run_id: true, ...}: %r" % v.get("runState"))
    a["heartbeats"].append(run_state)
    queue = CONFIG.setdefault("commands", {}).setdefault(s["name"], [])
    cmds = []
    if queue:
        cmd = dict(queue.pop(0))
        if cmd.get("type") in ("run", "resume"):
            if mock() and "run_id" not in cmd:
                STATE["mock_runs"] = STATE.get("mock_runs", 0) + 1
                cmd["run_id"] = "mocker-sweep-run-x9%d" % STATE["mock_runs"]
            cmd.setdefault("run_id", rand_id())
            cmd.setdefault("program", "train.py")
            cmd.setdefault("args", {})
            RECORD["issued_runs"][cmd["run_id"]] = s["name"]
        cmds.append(cmd)
    elif CONFIG.get("exit_when_done"):
        cmds.append({"type": "exit"})
    return {"agentHeartbeat": {"agent": {"id": a["id"]}, "commands": json.dumps(cmds)}}


def op_upsert_bucket(v):
    name = v.get("name") or rand_id()
    if v.get("sweep") and v["sweep"] not in RECORD["sweeps"]:
        raise GqlError("sweep %s not found" % v["sweep"], 404, "upsertBucket")
    if (v.get("sweep") and CONFIG.get("strict_run_ids", True) and
            RECORD["issued_runs"].get(name) != v["sweep"]):
        violation("UpsertBucket joins sweep %s with run name %s, which no heartbeat of that "
                  "sweep handed out" % (v["sweep"], name))
        raise GqlError("run %s was not issued for sweep %s" % (name, v["sweep"]), 400,
                       "upsertBucket")
    config = None
    if v.get("config") is not None:
        config = json.loads(v["config"])
        if not isinstance(config, dict):
            raise GqlError("config is not a JSON object", 400, "upsertBucket")
        for k, x in config.items():
            if not isinstance(x, dict) or "value" not in x:
                raise GqlError("config entry '%s' is not value-wrapped {\"value\": v}" % k, 400,
                               "upsertBucket")
    r = RECORD["runs"].get(name)
    inserted = r is None
    if r is None:
        r = {"name": name, "entity": v.get("entity") or default_entity(),
             "project": v.get("project") or ("test" if mock() else "uncategorized"),
             "sweep": None, "config": None,
             "host": None, "program": None, "upserts": 0, "history": [], "summary": None,
             "complete": False, "exitcode": None, "file_stream_posts": 0, "resent_lines": 0,
             "state": "running"}
        RECORD["runs"][name] = r
    r["upserts"] += 1
    for key, field in (("sweep", "sweep"), ("host", "host"), ("program", "program")):
        if v.get(key) is not None:
            r[field] = v[key]
    if config is not None:
        r["config"] = config
    return {"upsertBucket": {"bucket": {
        "id": base64.b64encode(("Run:" + name).encode()).decode(), "name": name,
        "displayName": v.get("displayName") or ("fake-run-" + name), "description": None,
        "config": json.dumps(r["config"] or {}), "sweepName": r["sweep"],
        "project": {"id": "UHJvamVjdDox", "name": r["project"],
                    "entity": {"id": "RW50aXR5OjE=", "name": r["entity"]}},
        "historyLineCount": len(r["history"])}, "inserted": inserted}}


def op_alert(v):
    RECORD["alerts"].append(v)
    return {"notifyScriptableRunAlert": {"success": True}}


def op_sweep_with_runs(v):
    s = find_sweep(v["sweep"], v.get("entity"), v.get("project"))
    if s is None:
        return {"project": None}
    runs = [r for r in RECORD["runs"].values() if r["sweep"] == s["name"]]
    edges = [{"node": {
        "name": r["name"], "state": r["state"], "config": json.dumps(r["config"] or {}),
        "exitcode": r["exitcode"], "heartbeatAt": None, "shouldStop": False,
        "failed": r["state"] == "failed", "stopped": False, "running": r["state"] == "running",
        "summaryMetrics": json.dumps(r["summary"] or {}),
        "sampledHistory": [r["history"]]}} for r in runs]
    sweep = {
        "id": s["id"], "name": s["name"], "method": (s["config_parsed"] or {}).get("method"),
        "state": s["state"], "description": s.get("description"), "config": s["config"],
        "createdAt": None, "heartbeatAt": None, "updatedAt": None,
        "earlyStopJobRunning": False, "bestLoss": None, "controller": s["controller"],
        "scheduler": s["scheduler"], "runs": {"edges": edges}}
    if mock():
        # the historical mock: lower-case state, only {"project": {"sweep"}}
        sweep["state"] = s["state"].lower()
        return {"project": {"sweep": sweep}}
    return {"project": {"name": s["project"], "entity": {"name": s["entity"]},
                        "sweep": sweep}}


OPS = {"Viewer": op_viewer, "UpsertSweep": op_upsert_sweep, "CreateAgent": op_create_agent,
       "Heartbeat": op_heartbeat, "UpsertBucket": op_upsert_bucket,
       "NotifyScriptableRunAlert": op_alert, "SweepWithRuns": op_sweep_with_runs}


# ==== file_stream ====

def file_stream(run_name, body):
    """Returns (status, answer)."""
    r = RECORD["runs"].get(run_name)
    if r is None:
        return 404, {"error": "run %s not found (UpsertBucket first)" % run_name}
    if not isinstance(body, dict):
        violation("file_stream body is not a JSON object")
        return 400, {"error": "body is not a JSON object"}
    if (r["complete"] and body.get("complete") and body.get("exitcode") == r["exitcode"]
            and not body.get("files")):
        # the same completion again (its answer was lost): idempotent
        r["resent_completions"] = r.get("resent_completions", 0) + 1
        return 200, {"exitcode": None, "limits": {}}
    if r["complete"]:
        violation("file_stream for run %s after its completion: %s" % (run_name, body))
        return 400, {"error": "run already completed"}
    r["file_stream_posts"] += 1
    files = body.get("files", {})
    hist = files.get("wandb-history.jsonl")
    if hist is not None:
        off, content = hist.get("offset"), hist.get("content")
        if not isinstance(off, int) or not isinstance(content, list):
            violation("history without an integer offset and a content list")
            return 400, {"error": "bad wandb-history.jsonl entry"}
        have = len(r["history"])
        if off > have:
            violation("history offset %d leaves a gap: only %d lines received" % (off, have))
            return 400, {"error": "history offset %d but %d lines received" % (off, have)}
        rows = []
        for line in content:
            try:
                row = json.loads(line)
            except (TypeError, ValueError):
                violation("history line is not JSON: %r" % (line,))
                return 400, {"error": "history line is not JSON"}
            if not isinstance(row, dict):
                violation("history line is not an object: %r" % (line,))
                return 400, {"error": "history line is not an object"}
            for key in ("_step", "_runtime", "_timestamp"):
                if key not in row:
                    violation("history line lacks %s: %s" % (key, line))
            rows.append(row)
        for i, row in enumerate(rows):
            at = off + i
            if at < have:
                if r["history"][at] != row:
                    violation("history line %d re-sent with different content" % at)
                    r["history"][at] = row
                r["resent_lines"] += 1
            else:
                prev = r["history"][-1]["_step"] if r["history"] else None
                step = row.get("_step")
                if not isinstance(step, int) or (prev is not None and step <= prev):
                    violation("history _step %r does not follow %r" % (step, prev))
                r["history"].append(row)
    summ = files.get("wandb-summary.json")
    if summ is not None:
        content = summ.get("content")
        if summ.get("offset") != 0 or not isinstance(content, list) or not content:
            violation("summary must be {offset: 0, content: [line]}: %r" % (summ,))
            return 400, {"error": "bad wandb-summary.json entry"}
        try:
            r["summary"] = json.loads(content[-1])
        except (TypeError, ValueError):
            violation("summary line is not JSON")
            return 400, {"error": "summary is not JSON"}
    if body.get("preempting"):
        # wandb's mark_preempting(): the run may end without completing
        r["preempting"] = True
        r["state"] = "preempting"
    if body.get("complete"):
        code = body.get("exitcode")
        if not isinstance(code, int) or isinstance(code, bool):
            violation("complete without an integer exitcode: %r" % (body,))
            return 400, {"error": "exitcode must be an integer"}
        r["complete"] = True
        r["exitcode"] = code
        r["state"] = "finished" if code == 0 else "failed"
    answer = {"exitcode": None, "limits": {}}
    if run_name in CONFIG.get("stop_runs", []):
        answer["stopped"] = True
    return 200, answer


# ==== HTTP ====

def take_fault(op):
    """Counts this request against every fault matching op (so "skip" counts
    matching requests, whether or not an earlier fault fired on them) and
    returns the first fault that is active for it, or None."""
    chosen = None
    for i, f in enumerate(CONFIG.get("faults", [])):
        want = f.get("op", "*")
        if want != "*" and want != op and not (want == "graphql" and op in OPS):
            continue
        while len(FAULT_STATE) <= i:
            FAULT_STATE.append(0)
        FAULT_STATE[i] += 1
        n = FAULT_STATE[i]
        skip, times = f.get("skip", 0), f.get("times", 1)
        if n <= skip or (times >= 0 and n > skip + times):
            continue
        if chosen is None:
            chosen = f
    return chosen


def go_down(seconds):
    STATE["down_until"] = time.time() + seconds
    srv = STATE["server"]
    threading.Thread(target=srv.shutdown, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-wandb/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def answer(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def auth_ok(self):
        want = "Basic " + base64.b64encode(
            ("api:" + CONFIG.get("api_key", DEFAULT_KEY)).encode()).decode()
        return self.headers.get("Authorization") == want

    def do_GET(self):
        self.read_body()
        if self.path == "/_control/state":
            with LOCK:
                self.answer(200, RECORD)
            return
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        raw = self.read_body()
        if self.path == "/_control/config":
            with LOCK:
                merge_config(json.loads(raw or b"{}"))
            self.answer(200, {"ok": True})
            return
        m = re.match(r"^/files/([^/]+)/([^/]+)/([^/]+)/file_stream$", self.path)
        if self.path == "/graphql":
            kind = "graphql"
        elif m:
            kind = "file_stream"
        else:
            self.answer(404, {"error": "no route for POST %s" % self.path})
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        op = "file_stream"
        if kind == "graphql" and isinstance(body, dict) and isinstance(body.get("query"), str):
            om = OP_RE.match(body["query"])
            op = om.group(2) if om else "?"
        elif kind == "graphql":
            op = "?"
        with LOCK:
            entry = {"n": len(RECORD["requests"]), "method": "POST", "path": self.path,
                     "op": op, "auth": self.auth_ok(), "status": None, "fault": None}
            if kind == "graphql" and isinstance(body, dict):
                entry["variables"] = body.get("variables")
            else:
                entry["body"] = body
            RECORD["requests"].append(entry)
            fault = take_fault(op)
            if fault:
                entry["fault"] = fault.get("action", "status")
            save_record()
        action = fault.get("action", "status") if fault else None
        if action == "drop":
            self.drop()
            return
        if action == "refuse":
            with LOCK:
                go_down(fault.get("seconds", 1))
            self.drop()
            return
        if action == "status":
            headers = {}
            if "retry_after" in fault:
                headers["Retry-After"] = str(fault["retry_after"])
            status = fault.get("status", 500)
            self.answer(status, fault.get("body", {"errors": [
                {"message": "injected fault: HTTP %d" % status}]}), headers)
            with LOCK:
                entry["status"] = status
                save_record()
            return
        if action == "slow":
            time.sleep(fault.get("delay", 2))
        with LOCK:
            status, obj = self.process(kind, op, body, m)
            entry["status"] = status
            save_record()
        if action == "drop_after":
            self.drop()
            return
        self.answer(status, obj)

    def process(self, kind, op, body, m):
        if not self.auth_ok():
            return 401, {"errors": [{"message": "user is not logged in (bad or missing "
                                                "API key)"}]}
        if (self.headers.get("Content-Type") or "").split(";")[0] != "application/json":
            violation("%s without Content-Type: application/json" % op)
            return 400, {"error": "Content-Type must be application/json"}
        if kind == "file_stream":
            return file_stream(m.group(3), body)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            violation("graphql body without a query string")
            return 400, {"errors": [{"message": "body must be {\"query\", \"variables\"}"}]}
        variables = body.get("variables")
        if not isinstance(variables, dict):
            violation("graphql body without a variables object (%s)" % op)
            return 400, {"errors": [{"message": "variables must be an object"}]}
        fn = OPS.get(op)
        if fn is None:
            violation("unknown graphql operation %r" % op)
            return 400, {"errors": [{"message": "unknown operation %s" % op}]}
        try:
            check_variables(body["query"], variables)
            return 200, {"data": fn(variables)}
        except GqlError as e:
            if e.status == 400 and "variable" in str(e):
                violation("%s: %s" % (op, e))
            path = [e.path] if e.path else []
            return e.status, {"errors": [{"message": str(e), "path": path}],
                              "data": {e.path: None} if e.path else None}


def merge_config(new):
    # plain settings first: the sweeps and runs below take their defaults
    for k in ("wandb_mock", "entity"):
        if k in new:
            CONFIG[k] = new[k]
    for k, v in new.items():
        if k == "commands":
            for sweep, cmds in v.items():
                CONFIG.setdefault("commands", {}).setdefault(sweep, []).extend(cmds)
        elif k == "stop_runs":
            CONFIG.setdefault("stop_runs", []).extend(v)
        elif k == "faults":
            CONFIG["faults"] = v
            del FAULT_STATE[:]
        elif k == "sweeps":
            for name, s in v.items():
                add_sweep(name, s)
        elif k == "runs":
            for name, r in v.items():
                run = {"name": name, "entity": default_entity(),
                       "project": "uncategorized", "sweep": None, "config": None,
                       "host": None, "program": None, "upserts": 0, "history": [],
                       "summary": None, "complete": False, "exitcode": None,
                       "file_stream_posts": 0, "resent_lines": 0, "state": "running"}
                run.update(r)
                RECORD["runs"][name] = run
        else:
            CONFIG[k] = v


def add_sweep(name, s):
    config = s.get("config", "method: random\nparameters: {}\n")
    RECORD["sweeps"][name] = {
        "id": base64.b64encode(("Sweep:" + name).encode()).decode(), "name": name,
        "entity": s.get("entity", default_entity()),
        "project": s.get("project", "uncategorized"),
        "state": s.get("state", "running" if mock() else "RUNNING"),
        "controller": s.get("controller"), "scheduler": s.get("scheduler"),
        "config": config, "config_parsed": None, "warnings": []}
    try:
        RECORD["sweeps"][name]["config_parsed"] = jsonable(yaml_load(config))
    except Exception:  # noqa: BLE001
        pass


def main():
    global RECORD_PATH
    args = sys.argv[1:]
    port = 0
    while args:
        a = args.pop(0)
        if a == "--record":
            RECORD_PATH = args.pop(0)
        elif a == "--config":
            c = args.pop(0)
            merge_config(json.loads(c) if c.lstrip().startswith("{") else
                         json.load(open(c)))
        elif a == "--port":
            port = int(args.pop(0))
        else:
            sys.exit("fake_wandb.py: unknown argument %s" % a)
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    STATE["port"] = port
    save_record()
    if CONFIG.get("refuse_first"):
        srv.server_close()
        srv = None
        STATE["down_until"] = time.time() + CONFIG["refuse_first"]
    print(port, flush=True)
    while True:
        wait = STATE["down_until"] - time.time()
        if wait > 0:
            time.sleep(wait)
        if srv is None:
            srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            srv.daemon_threads = True
        STATE["server"] = srv
        srv.serve_forever(poll_interval=0.05)
        srv.server_close()
        srv = None


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
