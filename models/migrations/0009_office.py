from tortoise import migrations
from tortoise.migrations import operations as ops
from models.office import MeasureKind, ReportKind, ReportStatus
from models.tasks import TaskKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

BACKFILL = (
    "UPDATE task SET completed_at = (SELECT MAX(e.at) FROM task_event e "
    "WHERE e.task_id = task.id AND e.action = 'COMPLETED') WHERE status = 'DONE'"
)


async def completed_at_from_history(apps, schema_editor) -> None:
    """Tasks done before this migration: their completion time is in their history."""
    await schema_editor.client.execute_script(BACKFILL)


class Migration(migrations.Migration):
    dependencies = [('models', '0008_imports')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountabilityMeasure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='INTERVIEW: INTERVIEW\nNOTICE: NOTICE\nRECTIFICATION: RECTIFICATION', enum_type=MeasureKind, max_length=16)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='accountability_measures', on_delete=OnDelete.RESTRICT)),
                ('school_year', fields.CharField(max_length=9)),
                ('summary', fields.TextField(unique=False)),
                ('decided_on', fields.DateField()),
                ('deadline', fields.DateField(null=True)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', null=True, db_constraint=True, to_field='id', related_name='rectification_of', on_delete=OnDelete.SET_NULL)),
                ('indicators', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='accountability_measures', on_delete=OnDelete.SET_NULL)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'accountability_measure', 'app': 'models', 'indexes': [Index(fields=['unit_id', 'school_year', 'id'], name='measure_unit_year_idx')], 'pk_attr': 'id', 'table_description': 'One measure the office took against a unit, with what caused it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AccountabilityCause',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('measure', fields.ForeignKeyField('models.AccountabilityMeasure', source_field='measure_id', db_constraint=True, to_field='id', related_name='causes', on_delete=OnDelete.CASCADE)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', db_constraint=True, to_field='id', related_name='accountability_causes', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'accountability_cause', 'app': 'models', 'unique_together': (('measure', 'task'),), 'pk_attr': 'id', 'table_description': 'An overdue (or late) task that caused a measure.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OfficeReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='MONTHLY: MONTHLY\nQUARTERLY: QUARTERLY\nEVALUATION: EVALUATION', enum_type=ReportKind, max_length=16)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='office_reports', on_delete=OnDelete.RESTRICT)),
                ('subject', fields.ForeignKeyField('models.Unit', source_field='subject_id', null=True, db_constraint=True, to_field='id', related_name='evaluations', on_delete=OnDelete.RESTRICT)),
                ('period', fields.CharField(max_length=16)),
                ('period_start', fields.DateField()),
                ('period_end', fields.DateField()),
                ('title', fields.CharField(max_length=200)),
                ('content', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharEnumField(default=ReportStatus.GENERATED, description='GENERATED: GENERATED\nFILED: FILED', enum_type=ReportStatus, max_length=16)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', null=True, db_constraint=True, to_field='id', related_name='office_reports', on_delete=OnDelete.SET_NULL)),
                ('scores', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('remarks', fields.TextField(default='', unique=False)),
                ('unique_key', fields.CharField(unique=True, max_length=120)),
                ('generated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('filed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('filed_by', fields.ForeignKeyField('models.User', source_field='filed_by_id', null=True, db_constraint=True, to_field='id', related_name='filed_office_reports', on_delete=OnDelete.SET_NULL)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'office_report', 'app': 'models', 'indexes': [Index(fields=['kind', 'period', 'id'], name='office_report_period_idx')], 'pk_attr': 'id', 'table_description': 'A report the worker compiled for a calendar task: filing it completes that task.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Task',
            name='kind',
            field=fields.CharEnumField(default=TaskKind.MANUAL, description='MANUAL: MANUAL\nDUTY: DUTY\nCASE_STEP: CASE_STEP\nRULE: RULE\nRECTIFICATION: RECTIFICATION', enum_type=TaskKind, max_length=16),
        ),
        ops.AddField(
            model_name='Task',
            name='completed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='TaskCooperator',
            name='part_done_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='TaskCooperator',
            name='part_note',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.RunPython(completed_at_from_history),
    ]
