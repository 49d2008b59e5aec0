"""framework/integrations/dbt/dbt_worker.py: a request's environment holds for that command only."""

import importlib.util
import os

import pytest
from conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "dbt_worker", REPO_ROOT / "framework" / "integrations" / "dbt" / "dbt_worker.py"
)
dbt_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dbt_worker)


class _Runner:
    """Stands in for dbtRunner: records the audit branch each command saw."""

    def __init__(self):
        self.seen = []

    def invoke(self, args):
        self.seen.append((args[0], os.environ.get("FAIRWAY_AUDIT_BRANCH")))
        return type("Result", (), {"success": True, "exception": None})()


def test_a_commands_env_is_set_while_it_runs_and_restored_after(monkeypatch):
    monkeypatch.delenv("FAIRWAY_AUDIT_BRANCH", raising=False)
    monkeypatch.setenv("KEEP", "before")
    runner = _Runner()
    args, env = dbt_worker._request('{"args": ["test"], "env": {"FAIRWAY_AUDIT_BRANCH": "audit_r1", "KEEP": "x"}}')
    assert dbt_worker._run_with_env(runner, args, env) == 0
    args, env = dbt_worker._request('{"args": ["build"]}')
    assert dbt_worker._run_with_env(runner, args, env) == 0
    assert runner.seen == [("test", "audit_r1"), ("build", None)]
    assert "FAIRWAY_AUDIT_BRANCH" not in os.environ and os.environ["KEEP"] == "before"


@pytest.mark.parametrize(
    "line", ['{"args": "test"}', '{"args": ["test"], "env": {"A": 1}}', '{"args": ["t"], "env": []}']
)
def test_a_malformed_request_is_refused(line):
    with pytest.raises(ValueError):
        dbt_worker._request(line)
