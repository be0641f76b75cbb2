from tortoise import migrations
from tortoise.migrations import operations as ops
from models.facts import DisabilityKind, FactKind, FactStatus
from models.rules import RuleKind
from models.units import UnitKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_children_cases_calendar_outbox')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Digest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='digests', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('reminders', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('escalations', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'digest', 'app': 'models', 'unique_together': (('unit', 'day'),), 'pk_attr': 'id', 'table_description': 'One message per unit per day: what is coming due, and what was escalated to it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Fact',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='DISABILITY: DISABILITY\nFAMILY_IN_DIFFICULTY: FAMILY_IN_DIFFICULTY\nLEFT_BEHIND: LEFT_BEHIND\nPRISONER_PARENT: PRISONER_PARENT\nDISABLED_PARENT: DISABLED_PARENT\nMIGRANT: MIGRANT\nORPHAN: ORPHAN\nGUARDIAN_REFUSES: GUARDIAN_REFUSES\nCHILD_WORKING: CHILD_WORKING\nFAMILY_MOVED_AWAY: FAMILY_MOVED_AWAY', enum_type=FactKind, max_length=32)),
                ('student', fields.ForeignKeyField('models.Student', source_field='student_id', db_constraint=True, to_field='id', related_name='facts', on_delete=OnDelete.RESTRICT)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='facts', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=FactStatus.ACTIVE, description='ACTIVE: ACTIVE\nWITHDRAWN: WITHDRAWN', enum_type=FactStatus, max_length=16)),
                ('noted_on', fields.DateField()),
                ('source', fields.CharField(max_length=200)),
                ('reason', fields.TextField(unique=False)),
                ('disability_kind', fields.CharEnumField(null=True, description='VISUAL: VISUAL\nHEARING: HEARING\nINTELLECTUAL: INTELLECTUAL\nOTHER: OTHER', enum_type=DisabilityKind, max_length=16)),
                ('graded', fields.BooleanField(null=True)),
                ('detail', fields.CharField(default='', max_length=300)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='recorded_facts', on_delete=OnDelete.SET_NULL)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('withdrawn_reason', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'fact', 'app': 'models', 'indexes': [Index(fields=['status', 'id'], name='fact_status_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicySetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('value', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'policy_setting', 'app': 'models', 'pk_attr': 'id', 'table_description': "A named setting of the county's policy (deadlines, county units the rules refer to)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Rule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('kind', fields.CharEnumField(description='LADDER_STEP: LADDER_STEP\nFACT_RULE: FACT_RULE\nDUTY_CALENDAR: DUTY_CALENDAR', enum_type=RuleKind, max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('clause', fields.CharField(default='', max_length=32)),
                ('duty', fields.ForeignKeyField('models.Duty', source_field='duty_id', null=True, db_constraint=True, to_field='id', related_name='rules', on_delete=OnDelete.SET_NULL)),
                ('spec', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'rule', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Duty',
            name='lists',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='Duty',
            name='per_unit_kind',
            field=fields.CharEnumField(null=True, description='LEADING_GROUP: LEADING_GROUP\nLEADING_GROUP_OFFICE: LEADING_GROUP_OFFICE\nCOUNTY_GOVERNMENT: COUNTY_GOVERNMENT\nDEPARTMENT: DEPARTMENT\nSUB_OFFICE: SUB_OFFICE\nTOWNSHIP: TOWNSHIP\nVILLAGE: VILLAGE\nSCHOOL: SCHOOL', enum_type=UnitKind, max_length=32),
        ),
        ops.AddField(
            model_name='DutyParty',
            name='school_levels',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Task',
            name='escalation_level',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Task',
            name='fact',
            field=fields.ForeignKeyField('models.Fact', source_field='fact_id', null=True, db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Task',
            name='outcome_options',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Task',
            name='rule',
            field=fields.ForeignKeyField('models.Rule', source_field='rule_id', null=True, db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Task',
            index=Index(fields=['escalation_level', 'status'], name='task_escalation_idx'),
        ),
        ops.AddField(
            model_name='Unit',
            name='designated_middle_school',
            field=fields.ForeignKeyField('models.Unit', source_field='designated_middle_school_id', null=True, db_constraint=True, to_field='id', related_name='feeder_schools', on_delete=OnDelete.SET_NULL),
        ),
    ]
