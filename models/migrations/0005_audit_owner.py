"""The audit trail cannot be rewritten, by the application either.

SQLite: `INSERT OR REPLACE` with an existing id would delete the old line (REPLACE deletes without
firing delete triggers) and write a new one: a BEFORE INSERT trigger refuses an id that exists.

PostgreSQL: a table's owner can disable its triggers, alter or drop it. When AUDIT_OWNER_ROLE names
a separate role, audit_entry (its id sequence and the trigger function) is handed to that role and
the role running the migration (the application's) keeps INSERT and SELECT only. The hand-over needs
the migrating role to be a member of the owner role for the moment, the owner role CREATE on the
schema, and the database and its schema owned by neither (a schema's owner may drop any table in it):
README (production) and docs/access.md give the SQL recipe, including revoking the membership after.
"""

import os

from tortoise import migrations
from tortoise.migrations import operations as ops

SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS audit_entry_no_replace BEFORE INSERT ON audit_entry "
    "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_entry WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: REPLACE refused'); END"
)


def postgres_hand_over(owner: str) -> str:
    """The statements that give audit_entry to `owner` and leave the current role INSERT and SELECT."""
    role = '"' + owner.replace('"', '""') + '"'
    return f"""
ALTER TABLE audit_entry OWNER TO {role};
ALTER FUNCTION audit_entry_append_only() OWNER TO {role};
REVOKE ALL ON audit_entry FROM PUBLIC;
DO $$ BEGIN
  EXECUTE format('REVOKE ALL ON audit_entry FROM %I', current_user);
  EXECUTE format('GRANT SELECT, INSERT ON audit_entry TO %I', current_user);
  IF to_regclass('audit_entry_id_seq') IS NOT NULL THEN
    EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE audit_entry_id_seq TO %I', current_user);
  END IF;
END $$;
"""


async def protect_the_audit_trail(apps, schema_editor) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    if dialect == "sqlite":
        await client.execute_script(SQLITE)
    elif dialect == "postgres" and os.environ.get("AUDIT_OWNER_ROLE"):
        owner = os.environ["AUDIT_OWNER_ROLE"]
        _, rows = await client.execute_query("SELECT 1 FROM pg_roles WHERE rolname = $1", [owner])
        if not rows:
            raise RuntimeError(
                f"AUDIT_OWNER_ROLE {owner!r} does not exist: create it first (README, production recipe)"
            )
        await client.execute_script(postgres_hand_over(owner))


class Migration(migrations.Migration):
    dependencies = [('models', '0004_audit_trail')]

    initial = False

    operations = [
        ops.RunPython(protect_the_audit_trail),
    ]
