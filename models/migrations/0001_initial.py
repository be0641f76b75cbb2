from tortoise import migrations
from tortoise.migrations import operations as ops
from models.duties import PartyRole, TriggerKind
from models.tasks import TaskKind, TaskStatus
from models.units import MemberRole, SchoolLevel, UnitKind
from models.users import UserRole
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Duty',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('clause', fields.CharField(max_length=32)),
                ('title', fields.CharField(max_length=200)),
                ('text', fields.TextField(unique=False)),
                ('trigger_kind', fields.CharEnumField(description='ANNUAL: ANNUAL\nBUDGET_YEAR: BUDGET_YEAR\nSCHOOL_YEAR: SCHOOL_YEAR\nPER_TERM: PER_TERM\nMONTHLY: MONTHLY\nQUARTERLY: QUARTERLY\nPERIODIC: PERIODIC\nCONTINUOUS: CONTINUOUS\nPER_CHILD: PER_CHILD\nPER_EVENT: PER_EVENT', enum_type=TriggerKind, max_length=32)),
                ('trigger_text', fields.CharField(max_length=200)),
                ('deadline_rule', fields.CharField(max_length=64)),
                ('deadline_text', fields.CharField(max_length=200)),
                ('deadline_is_default', fields.BooleanField(default=False)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'duty', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=100)),
                ('title', fields.CharField(max_length=200)),
                ('is_demo', fields.BooleanField(default=False)),
            ],
            options={'table': 'person', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Unit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('kind', fields.CharEnumField(db_index=True, description='LEADING_GROUP: LEADING_GROUP\nLEADING_GROUP_OFFICE: LEADING_GROUP_OFFICE\nCOUNTY_GOVERNMENT: COUNTY_GOVERNMENT\nDEPARTMENT: DEPARTMENT\nSUB_OFFICE: SUB_OFFICE\nTOWNSHIP: TOWNSHIP\nVILLAGE: VILLAGE\nSCHOOL: SCHOOL', enum_type=UnitKind, max_length=32)),
                ('parent', fields.ForeignKeyField('models.Unit', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('school_level', fields.CharEnumField(null=True, description='KINDERGARTEN: KINDERGARTEN\nPRIMARY: PRIMARY\nJUNIOR_MIDDLE: JUNIOR_MIDDLE\nNINE_YEAR: NINE_YEAR\nHIGH_SCHOOL: HIGH_SCHOOL\nVOCATIONAL: VOCATIONAL', enum_type=SchoolLevel, max_length=32)),
                ('is_demo', fields.BooleanField(default=False)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'unit', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DutyParty',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('duty', fields.ForeignKeyField('models.Duty', source_field='duty_id', db_constraint=True, to_field='id', related_name='parties', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='OWNER: OWNER\nCOOPERATOR: COOPERATOR', enum_type=PartyRole, max_length=16)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='duty_parties', on_delete=OnDelete.CASCADE)),
                ('unit_kind', fields.CharEnumField(null=True, description='LEADING_GROUP: LEADING_GROUP\nLEADING_GROUP_OFFICE: LEADING_GROUP_OFFICE\nCOUNTY_GOVERNMENT: COUNTY_GOVERNMENT\nDEPARTMENT: DEPARTMENT\nSUB_OFFICE: SUB_OFFICE\nTOWNSHIP: TOWNSHIP\nVILLAGE: VILLAGE\nSCHOOL: SCHOOL', enum_type=UnitKind, max_length=32)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'duty_party', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An owner or cooperator of a duty: one named unit, or every unit of a kind ("each township").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(description='LEADER: LEADER\nDEPUTY_LEADER: DEPUTY_LEADER\nMEMBER: MEMBER\nOFFICE_DIRECTOR: OFFICE_DIRECTOR\nOFFICE_DEPUTY_DIRECTOR: OFFICE_DEPUTY_DIRECTOR\nHEAD: HEAD\nLIAISON: LIAISON', enum_type=MemberRole, max_length=32)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'membership', 'app': 'models', 'unique_together': (('person', 'unit', 'role'),), 'pk_attr': 'id', 'table_description': "A person's role in a unit. One person may hold several (马明艳: 副组长 and office 主任)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharEnumField(description='LIAISON: LIAISON\nOFFICE: OFFICE\nADMIN: ADMIN', enum_type=UserRole, max_length=16)),
                ('is_active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'app_user', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Task',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=300)),
                ('description', fields.TextField(default='', unique=False)),
                ('kind', fields.CharEnumField(default=TaskKind.MANUAL, description='MANUAL: MANUAL\nDUTY: DUTY\nCASE_STEP: CASE_STEP\nRULE: RULE', enum_type=TaskKind, max_length=16)),
                ('status', fields.CharEnumField(default=TaskStatus.OPEN, description='OPEN: OPEN\nIN_PROGRESS: IN_PROGRESS\nDONE: DONE\nCANCELLED: CANCELLED', enum_type=TaskStatus, max_length=16)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('assignee_unit', fields.ForeignKeyField('models.Unit', source_field='assignee_unit_id', db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.RESTRICT)),
                ('assignee', fields.ForeignKeyField('models.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='claimed_tasks', on_delete=OnDelete.SET_NULL)),
                ('duty', fields.ForeignKeyField('models.Duty', source_field='duty_id', null=True, db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.SET_NULL)),
                ('outcome', fields.TextField(null=True, unique=False)),
                ('unique_key', fields.CharField(null=True, unique=True, max_length=200)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'task', 'app': 'models', 'indexes': [Index(fields=['assignee_unit_id', 'status', 'due_at', 'id'], name='task_queue_idx'), Index(fields=['status', 'due_at', 'id'], name='task_due_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TaskCooperator',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', db_constraint=True, to_field='id', related_name='cooperators', on_delete=OnDelete.CASCADE)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', db_constraint=True, to_field='id', related_name='cooperations', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'task_cooperator', 'app': 'models', 'unique_together': (('task', 'unit'),), 'indexes': [Index(fields=['unit_id', 'task_id'], name='task_cooperator_unit_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TaskEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('task', fields.ForeignKeyField('models.Task', source_field='task_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='task_events', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=32)),
                ('comment', fields.TextField(null=True, unique=False)),
                ('changes', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'task_event', 'app': 'models', 'pk_attr': 'id', 'table_description': "One line of a task's history: who did what, when, and what changed."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Token',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=12)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'token', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
