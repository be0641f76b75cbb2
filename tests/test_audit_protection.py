"""Nobody rewrites the audit trail: not a REPLACE on SQLite, not the application's own role on PostgreSQL."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from tortoise import connections

from models import audit
from models.audit import AuditAction, AuditEntry
from tests.conftest import BACKEND, POSTGRES_ADMIN_URL
from tests.processes import environment, manage


async def test_a_line_cannot_be_replaced_in_place(database: str) -> None:
    line = await audit.record(AuditAction.DOWNLOAD, source="10.0.0.1", target="原件", outcome="OK")
    replace = (
        "INSERT OR REPLACE INTO audit_entry (id, at, action, actor_name, source, operation, target, outcome, "
        "detail, request_id) VALUES ({id}, '2026-01-01 00:00:00+00:00', 'DOWNLOAD', '', '', '', '改写', 'OK', "
        "'{{}}', '')"
        if BACKEND == "sqlite"
        else "INSERT INTO audit_entry (id, at, action, actor_name, source, operation, target, outcome, detail, "
        "request_id) VALUES ({id}, now(), 'DOWNLOAD', '', '', '', '改写', 'OK', '{{}}', '') "
        "ON CONFLICT (id) DO UPDATE SET target = EXCLUDED.target"
    )

    with pytest.raises(Exception, match="append-only"):
        await connections.get("default").execute_script(replace.format(id=line.id))

    assert (await AuditEntry.get(id=line.id)).target == "原件"


@pytest.mark.postgres_only
async def test_the_application_role_can_add_and_read_lines_but_not_change_them_or_the_table(
    database: str, tmp_path
) -> None:
    """The production recipe (README): a separate owner; the migrating, serving role keeps INSERT and SELECT."""
    suffix = uuid.uuid4().hex[:8]
    app, owner, name = f"kc_app_{suffix}", f"kc_audit_{suffix}", f"kc_roles_{suffix}"
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f"CREATE ROLE {app} LOGIN")
        await admin.execute(f"CREATE ROLE {owner} NOLOGIN")
        await admin.execute(f"GRANT {owner} TO {app}")  # only for the hand-over
        await admin.execute(f'CREATE DATABASE "{name}"')  # the DBA's, and so is its schema: not the application's
        in_database = await asyncpg.connect(f"{base}/{name}")
        await in_database.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {app}, {owner}")
        await in_database.close()
        app_url = base.replace("//postgres@", f"//{app}@") + f"/{name}"
        manage(environment(DATABASE_URL=app_url, AUDIT_OWNER_ROLE=owner), "migrate")
        await admin.execute(f"REVOKE {owner} FROM {app}")  # from now on the app cannot act as the owner

        as_app = await asyncpg.connect(app_url)
        try:
            await as_app.execute(
                "INSERT INTO audit_entry (at, action, actor_name, source, operation, target, outcome, detail, "
                "request_id) VALUES (now(), 'DOWNLOAD', '', '', '', '原件', 'OK', '{}', '')"
            )
            assert await as_app.fetchval("SELECT count(*) FROM audit_entry") >= 1
            for statement in (
                "UPDATE audit_entry SET target = '改写'",
                "DELETE FROM audit_entry",
                "TRUNCATE audit_entry",
                "ALTER TABLE audit_entry DISABLE TRIGGER ALL",
                "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_update",
                "DROP TABLE audit_entry",
                "ALTER TABLE audit_entry OWNER TO CURRENT_USER",
                "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ BEGIN RETURN NEW; END; "
                "$$ LANGUAGE plpgsql",
                f"SET ROLE {owner}",
            ):
                try:
                    await as_app.execute(statement)
                except asyncpg.PostgresError:
                    continue
                raise AssertionError(f"the application's role could: {statement}")
            assert await as_app.fetchval("SELECT target FROM audit_entry ORDER BY id DESC LIMIT 1") == "原件"
            # Everything else stays the application's own.
            await as_app.execute("DELETE FROM token")
        finally:
            await as_app.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f"DROP ROLE IF EXISTS {app}")
        await admin.execute(f"DROP ROLE IF EXISTS {owner}")
        await admin.close()
