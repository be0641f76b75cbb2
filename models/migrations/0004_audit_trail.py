from tortoise import migrations
from tortoise.migrations import operations as ops
from models.audit import AuditAction
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

POSTGRES = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE OR DELETE ON audit_entry
  FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
  FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only();
"""

SQLITE = [
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END",
]


async def forbid_changes_to_the_audit_trail(apps, schema_editor) -> None:
    """The database itself refuses to change or delete an audit line."""
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(POSTGRES)
    elif client.capabilities.dialect == "sqlite":
        for statement in SQLITE:
            await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('models', '0003_facts_rules_digests')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('action', fields.CharEnumField(description='WRITE: WRITE\nREVEAL: REVEAL\nSIGN_IN: SIGN_IN\nSIGN_IN_FAILED: SIGN_IN_FAILED\nTOKEN_REVOKED: TOKEN_REVOKED\nDOWNLOAD: DOWNLOAD', enum_type=AuditAction, max_length=16)),
                ('actor_id', fields.IntField(null=True)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('unit_id', fields.IntField(null=True)),
                ('source', fields.CharField(default='', max_length=64)),
                ('operation', fields.CharField(default='', max_length=100)),
                ('target', fields.CharField(default='', max_length=120)),
                ('outcome', fields.CharField(default='OK', max_length=32)),
                ('detail', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('request_id', fields.CharField(default='', max_length=32)),
            ],
            options={'table': 'audit_entry', 'app': 'models', 'indexes': [Index(fields=['at', 'id'], name='audit_at_idx'), Index(fields=['actor_id', 'id'], name='audit_actor_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(forbid_changes_to_the_audit_trail),
    ]
