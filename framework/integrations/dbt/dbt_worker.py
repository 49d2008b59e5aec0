"""One dbt process for many dbt commands, run one after another.

    python dbt_worker.py

Fairway starts it with the environment dbt needs and writes one JSON request per line on stdin,
``{"args": ["test", "--select", "...", "--project-dir", "..."], "env": {...}}`` (``env``: variables set
for that command only). Each request runs as
``dbt <args>`` through dbt's programmatic entry point (``dbtRunner``) in this process, so what an
adapter starts once per process is started once for all of them: dbt-spark's session method starts
a Spark JVM (15-30 s), which the gate's ``dbt test``, ``dbt source freshness`` and the Gold
``dbt build`` of one run now share. dbt prints its log lines as the CLI does; when a command is done
this prints one line ``FAIRWAY_DBT_DONE {"exit_code": N}`` (0 passed, 1 a node failed, 2 dbt
itself failed, as the dbt CLI). It exits at the end of stdin, so it never outlives Fairway.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

DONE = "FAIRWAY_DBT_DONE "


def _request(line: str) -> tuple[list[str], dict[str, str]]:
    """A request's dbt arguments and the environment variables of that command only."""
    request = json.loads(line)
    args = request.get("args") if isinstance(request, dict) else None
    env = request.get("env", {}) if isinstance(request, dict) else None
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ValueError('a request is {"args": [<string>, ...], "env": {<name>: <string>}}')
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValueError('"env" must map names to strings')
    return args, env


def _run_with_env(runner: object, args: list[str], env: dict[str, str]) -> int:
    """Runs one command with ``env`` set (e.g. the audit branch the gate tests), then restores the environment."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return _run(runner, args)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run(runner: object, args: list[str]) -> int:
    try:
        result = runner.invoke(args)  # type: ignore[attr-defined]
    except BaseException as e:  # dbt's click layer may raise SystemExit; a worker must answer anyway
        if isinstance(e, KeyboardInterrupt):
            raise
        print(f"dbt_worker: dbt {' '.join(args[:1])} raised {type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        return 2
    if result.success:
        return 0
    # As the CLI: an exception means dbt itself failed (2); otherwise a model or test failed (1).
    if result.exception is not None:
        print(f"dbt_worker: {type(result.exception).__name__}: {result.exception}", file=sys.stderr)
        return 2
    return 1


def main() -> int:
    # One stream, in the order things were written: dbt's log, this worker's messages and the JVM's
    # (which inherits fd 2) all reach Fairway before the command's DONE line.
    sys.stdout.flush()
    os.dup2(sys.stdout.fileno(), sys.stderr.fileno())
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    from dbt.cli.main import dbtRunner

    runner = dbtRunner()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            code = _run_with_env(runner, *_request(line))
        except ValueError as e:
            print(f"dbt_worker: bad request: {e}", file=sys.stderr)
            code = 2
        sys.stderr.flush()
        sys.stdout.write(f"{DONE}{json.dumps({'exit_code': code})}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
