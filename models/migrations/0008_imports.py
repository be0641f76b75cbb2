from tortoise import migrations
from tortoise.migrations import operations as ops
from models.imports import ImportKind, ImportStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_population_register')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ImportRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='POPULATION: POPULATION\nROLL: ROLL\nCENSUS: CENSUS', enum_type=ImportKind, max_length=16)),
                ('file_name', fields.CharField(max_length=200)),
                ('sha256', fields.CharField(db_index=True, max_length=64)),
                ('stored_path', fields.CharField(max_length=500)),
                ('size_bytes', fields.BigIntField(default=0)),
                ('uploaded_by', fields.ForeignKeyField('models.User', source_field='uploaded_by_id', null=True, db_constraint=True, to_field='id', related_name='import_runs', on_delete=OnDelete.SET_NULL)),
                ('uploaded_by_name', fields.CharField(default='', max_length=100)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='import_runs', on_delete=OnDelete.SET_NULL)),
                ('as_of', fields.DateField(null=True)),
                ('dry_run', fields.BooleanField(default=False)),
                ('atomic', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=ImportStatus.PENDING, description='PENDING: PENDING\nRUNNING: RUNNING\nDONE: DONE\nREFUSED: REFUSED\nFAILED: FAILED', enum_type=ImportStatus, max_length=16)),
                ('rows_total', fields.IntField(null=True)),
                ('rows_done', fields.IntField(default=0)),
                ('imported', fields.IntField(default=0)),
                ('updated', fields.IntField(default=0)),
                ('unchanged', fields.IntField(default=0)),
                ('ignored', fields.IntField(default=0)),
                ('conflict_count', fields.IntField(default=0)),
                ('summary', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('error_code', fields.CharField(default='', max_length=32)),
                ('error', fields.TextField(default='', unique=False)),
                ('attempts', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('heartbeat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'import_run', 'app': 'models', 'indexes': [Index(fields=['status', 'id'], name='import_run_status_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ImportChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('models.ImportRun', source_field='run_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('line', fields.IntField()),
                ('subject', fields.CharField(max_length=32)),
                ('subject_id', fields.IntField()),
                ('changes', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'import_change', 'app': 'models', 'indexes': [Index(fields=['subject', 'subject_id', 'id'], name='import_change_subject_idx')], 'pk_attr': 'id', 'table_description': "A person's earlier values, kept when a newer file changed them: the history of an import."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ImportConflict',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('run', fields.ForeignKeyField('models.ImportRun', source_field='run_id', db_constraint=True, to_field='id', related_name='conflicts', on_delete=OnDelete.CASCADE)),
                ('line', fields.IntField()),
                ('column', fields.CharField(default='', max_length=100)),
                ('value', fields.CharField(default='', max_length=200)),
                ('code', fields.CharField(max_length=32)),
                ('message', fields.CharField(max_length=300)),
            ],
            options={'table': 'import_conflict', 'app': 'models', 'indexes': [Index(fields=['run_id', 'id'], name='import_conflict_run_idx')], 'pk_attr': 'id', 'table_description': 'One bad row, as DHIS2 reports it: where (line, column), what (value), why (code, message).'},
            bases=['Model'],
        ),
    ]
