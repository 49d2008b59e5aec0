"""Write-audit-publish for the Silver tables: publishes a run's audit branch to ``main``, or expires old branches.

The Silver job writes a run's rows to an Iceberg branch of each table (``audit_<run id>``), never to ``main``;
the dbt gate tests that branch; when it passes, Fairway runs this script:

    python -m fairway_spark.wap publish --namespace silver --branch audit_01j... --tables t1,t2,t3 [--retain-days 7]
    python -m fairway_spark.wap describe --namespace silver --tables t1,t2,t3

``publish`` moves ``main`` of every table to its branch head and drops the branch, one atomic catalog commit
per table (optimistic: the commit asserts that ``main`` is still where it was read). When ``main`` has moved
since the branch was made (another run published first), the branch's file changes are re-applied on top of
``main`` (a rebase) — unless the other run changed the same table partitions, which is a conflict: nothing is
published and the run fails, so its partitions are written again from the new ``main`` by the next run.
It then drops audit branches whose head is older than ``--retain-days`` (kept for inspection until then).
``describe`` lists each table's ``main`` snapshot and audit branches.

Prints one JSON object on stdout. pyiceberg does the catalog work (no JVM): the embedded profile's JDBC
catalog through its SQL catalog (SQLAlchemy on the same SQLite file), the local profile's REST catalog, the
aws profile's Glue Data Catalog (boto3; ``FAIRWAY_AWS_ENDPOINT`` for an emulator).
Same ``FAIRWAY_CATALOG_*`` / ``FAIRWAY_WAREHOUSE`` / ``FAIRWAY_S3_*`` variables as session.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping

AUDIT_PREFIX = "audit_"
MAIN = "main"
COMMIT_ATTEMPTS = 5


class WapError(Exception):
    """A publish that cannot be done; the message says why and what to do."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def _env(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def catalog_from_env(env: Mapping[str, str] = os.environ):
    """The pyiceberg catalog session.py configures Spark with."""
    name = _env(env, "FAIRWAY_CATALOG_NAME") or "lakehouse"
    kind = _env(env, "FAIRWAY_CATALOG_TYPE") or "jdbc"
    uri = _env(env, "FAIRWAY_CATALOG_URI")
    warehouse = _env(env, "FAIRWAY_WAREHOUSE")
    props = {"warehouse": warehouse} if warehouse else {}
    endpoint, region = _env(env, "FAIRWAY_S3_ENDPOINT"), _env(env, "FAIRWAY_S3_REGION")
    if endpoint:
        props["s3.endpoint"] = endpoint
    if region:
        props["s3.region"] = region
    if _env(env, "AWS_ACCESS_KEY_ID") and _env(env, "AWS_SECRET_ACCESS_KEY"):
        props["s3.access-key-id"] = _env(env, "AWS_ACCESS_KEY_ID")
        props["s3.secret-access-key"] = _env(env, "AWS_SECRET_ACCESS_KEY")
    if kind == "jdbc":
        prefix = "jdbc:sqlite:file:"
        if not uri or not uri.startswith(prefix):
            raise WapError(
                f"FAIRWAY_CATALOG_URI must be {prefix}/abs/catalog.db for a jdbc catalog, got {uri!r}", "bad_config"
            )
        from pyiceberg.catalog.sql import SqlCatalog

        # the Iceberg Java JDBC catalog's tables; pyiceberg reads and commits them the same way
        return SqlCatalog(name, uri=f"sqlite:///{uri[len(prefix) :]}", init_catalog_tables="false", **props)
    if kind == "rest":
        from pyiceberg.catalog.rest import RestCatalog

        return RestCatalog(name, uri=uri, **props)
    if kind == "glue":
        from pyiceberg.catalog.glue import GlueCatalog

        glue = {"glue.region": region} if region else {}
        if _env(env, "FAIRWAY_AWS_ENDPOINT"):
            glue["glue.endpoint"] = _env(env, "FAIRWAY_AWS_ENDPOINT")
        return GlueCatalog(name, **props, **glue)
    raise WapError(
        f"FAIRWAY_CATALOG_TYPE must be jdbc, rest or glue to publish audit branches, got {kind!r}", "bad_config"
    )


def _ancestor_ids(metadata, snapshot_id: int | None) -> list[int]:
    """``snapshot_id`` and its ancestors, newest first; raises when a parent has expired (the history is not
    whole, so no rebase can be trusted to re-apply exactly the branch's own changes)."""
    out, current = [], metadata.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    while current is not None:
        out.append(current.snapshot_id)
        parent = current.parent_snapshot_id
        current = metadata.snapshot_by_id(parent) if parent is not None else None
        if parent is not None and current is None:
            raise WapError(
                f"snapshot {parent} (an ancestor of {out[0]}) has expired: the branch cannot be rebased; "
                "materialize its partitions again",
                "history_expired",
            )
    return out


def _file_changes(table, snapshot_ids: list[int]) -> tuple[dict, dict]:
    """The net data files added and deleted by ``snapshot_ids`` (oldest first), by path."""
    from pyiceberg.manifest import ManifestEntryStatus

    added, deleted = {}, {}
    for sid in snapshot_ids:
        snapshot = table.metadata.snapshot_by_id(sid)
        for manifest in snapshot.manifests(table.io):
            if manifest.added_snapshot_id != sid:
                continue  # carried over from an older snapshot (a snapshot writes its ADDED and DELETED entries anew)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                if entry.snapshot_id != sid:
                    continue
                path = entry.data_file.file_path
                if entry.status == ManifestEntryStatus.ADDED:
                    added[path] = entry.data_file
                elif entry.status == ManifestEntryStatus.DELETED:
                    if path in added:
                        del added[path]
                    else:
                        deleted[path] = entry.data_file
    return added, deleted


def _partitions(table, files) -> set:
    """The table partitions of ``files`` by their identity fields' source columns (``(("course_id", "c"),
    ("ingest_date", d), …)``): the same Bronze partition whichever partition spec wrote a file, since every spec
    of the Silver tables ends in identity(course_id), identity(ingest_date) (silver/tables.py)."""
    schema, specs = table.schema(), table.specs()
    out = set()
    for f in files:
        fields = specs[f.spec_id].fields
        out.add(
            tuple(
                sorted(
                    (schema.find_column_name(pf.source_id), value)
                    for pf, value in zip(fields, f.partition)
                    if str(pf.transform) == "identity"
                )
            )
        )
    return out


def _head(table, ref: str) -> int | None:
    r = table.metadata.refs.get(ref)
    return r.snapshot_id if r is not None else None


def publish_table(
    catalog, namespace: str, name: str, branch: str, run_id: str | None = None, dry_run: bool = False
) -> dict:
    """Moves ``main`` of one table to ``branch`` and drops the branch (fast-forward, else rebase). ``dry_run``:
    only checks that it can (raises the conflict a rebase would meet), commits nothing."""
    from pyiceberg.exceptions import (
        CommitFailedException,
        CommitStateUnknownException,
        NoSuchTableError,
        ValidationException,
    )

    ident = (namespace, name)
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            table = catalog.load_table(ident)
        except NoSuchTableError:
            return {"table": name, "status": "no_table"}
        head, main = _head(table, branch), _head(table, MAIN)
        if head is None:
            return {"table": name, "status": "no_branch", "main_snapshot_id": _str(main)}
        try:
            lineage = _ancestor_ids(table.metadata, head)
            if main is None or main in lineage:
                if dry_run:
                    return {"table": name, "status": "ready", "mode": "fast_forward"}
                with table.manage_snapshots() as ms:
                    ms.set_current_snapshot(snapshot_id=head).remove_branch(branch)
                return {
                    "table": name,
                    "status": "published",
                    "mode": "fast_forward",
                    "snapshot_id": str(head),
                    "audited_snapshot_id": str(head),
                    "previous_snapshot_id": _str(main),
                }
            return _rebase(table, name, branch, head, main, lineage, run_id, dry_run)
        except (CommitFailedException, CommitStateUnknownException, ValidationException) as e:
            # main moved while we committed (pyiceberg's own retry of an overwrite also ends here): reload, check again
            if attempt == COMMIT_ATTEMPTS:
                raise WapError(
                    f"{namespace}.{name}: main kept moving; gave up after {attempt} attempts", "commit_conflict"
                ) from e
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _rebase(
    table, name: str, branch: str, head: int, main: int, lineage: list[int], run_id: str | None, dry_run: bool
) -> dict:
    """Re-applies the branch's own file changes on top of ``main``, when they touch no partition that ``main``
    changed since the branch was made."""
    theirs_ids = _ancestor_ids(table.metadata, main)
    on_main = set(theirs_ids)
    fork = next((s for s in lineage if s in on_main), None)
    ours = list(reversed(lineage[: lineage.index(fork)] if fork is not None else lineage))
    theirs = list(reversed(theirs_ids[: theirs_ids.index(fork)] if fork is not None else theirs_ids))
    added, deleted = _file_changes(table, ours)
    their_added, their_deleted = _file_changes(table, theirs)
    clash = _partitions(table, [*added.values(), *deleted.values()]) & _partitions(
        table, [*their_added.values(), *their_deleted.values()]
    )
    if clash:
        raise WapError(
            f"{table.name()}: another run published changes to {len(clash)} of the same table partitions since "
            f"branch {branch} was made; nothing published. Materialize the partitions again: they are written "
            "from the new main.",
            "publish_conflict",
        )
    if dry_run:
        return {"table": name, "status": "ready", "mode": "rebase"}
    from pyiceberg.table.update.snapshot import ManageSnapshots

    props = {"fairway.rebased-from": str(head)}
    if run_id:
        props["fairway.run_id"] = run_id
    with table.transaction() as tx:
        if added or deleted:
            with tx.update_snapshot(snapshot_properties=props).overwrite() as ow:
                for f in deleted.values():
                    ow.delete_data_file(f)
                for f in added.values():
                    ow.append_data_file(f)
        ManageSnapshots(tx).remove_branch(branch).commit()  # staged: one catalog commit with the overwrite
    return {
        "table": name,
        "status": "published",
        "mode": "rebase",
        "snapshot_id": _str(_head(table, MAIN)),
        "audited_snapshot_id": str(head),
        "previous_snapshot_id": str(main),
        "files_added": len(added),
        "files_deleted": len(deleted),
    }


def expire_branches(catalog, namespace: str, name: str, retain_days: float, keep: str | None = None) -> list[str]:
    """Drops the audit branches of one table whose head snapshot is older than ``retain_days``."""
    from pyiceberg.exceptions import CommitFailedException, NoSuchTableError

    try:
        table = catalog.load_table((namespace, name))
    except NoSuchTableError:
        return []
    cutoff = (time.time() - retain_days * 86400) * 1000
    main = _head(table, MAIN)
    on_main = set(_ancestor_ids(table.metadata, main)) if main is not None else set()

    def expired(r) -> bool:
        # a branch whose head main already has is a run still writing (made from an old main): never expired
        snapshot = table.metadata.snapshot_by_id(r.snapshot_id)
        return r.snapshot_id not in on_main and snapshot is not None and snapshot.timestamp_ms < cutoff

    old = [ref for ref, r in table.metadata.refs.items() if ref.startswith(AUDIT_PREFIX) and ref != keep and expired(r)]
    if old:
        try:
            with table.manage_snapshots() as ms:
                for ref in old:
                    ms.remove_branch(ref)
        except CommitFailedException:
            return []  # another commit won: the next publish expires them
    return sorted(old)


def describe_table(catalog, namespace: str, name: str) -> dict:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = catalog.load_table((namespace, name))
    except NoSuchTableError:
        return {"table": name, "exists": False}
    branches = {
        ref: str(r.snapshot_id) for ref, r in sorted(table.metadata.refs.items()) if ref.startswith(AUDIT_PREFIX)
    }
    return {"table": name, "exists": True, "main_snapshot_id": _str(_head(table, MAIN)), "audit_branches": branches}


def _str(v: int | None) -> str | None:
    return None if v is None else str(v)


def _expire_all(catalog, namespace: str, names: list[str], args) -> dict[str, list[str]]:
    """Old audit branches dropped after a publish; a failure here is only logged (the publish is done)."""
    if args.retain_days is None:
        return {}
    out = {}
    for t in names:
        try:
            dropped = expire_branches(catalog, namespace, t, args.retain_days, keep=args.branch)
        except Exception as e:  # noqa: BLE001 - the next publish tries again
            print(f"wap: expiring audit branches of {namespace}.{t} failed: {e}", file=sys.stderr)
            continue
        if dropped:
            out[t] = dropped
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fairway_spark.wap", description=__doc__.split("\n")[0])
    p.add_argument("action", choices=("publish", "describe"))
    p.add_argument("--namespace", required=True)
    p.add_argument("--tables", required=True, help="comma-separated table names")
    p.add_argument("--branch", help="the audit branch to publish (publish)")
    p.add_argument("--run-id")
    p.add_argument("--retain-days", type=float, help="drop audit branches older than this (publish)")
    args = p.parse_args(argv)
    names = [t for t in args.tables.split(",") if t]
    try:
        catalog = catalog_from_env()
        if args.action == "describe":
            out = {"tables": [describe_table(catalog, args.namespace, t) for t in names]}
        else:
            if not args.branch or not args.branch.startswith(AUDIT_PREFIX):
                raise WapError(
                    f"--branch must name an audit branch ({AUDIT_PREFIX}<run id>), got {args.branch!r}", "bad_branch"
                )
            # every table checked before any is published: a conflict on one publishes none
            for t in names:
                publish_table(catalog, args.namespace, t, args.branch, args.run_id, dry_run=True)
            published = []
            try:
                for t in names:
                    published.append(publish_table(catalog, args.namespace, t, args.branch, args.run_id))
            except WapError as e:  # after a dry run that passed: what was published is said too
                print(json.dumps({"error": str(e), "code": e.code, "tables": published}))
                return 1
            out = {"tables": published, "expired": _expire_all(catalog, args.namespace, names, args)}
    except WapError as e:
        print(json.dumps({"error": str(e), "code": e.code}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
