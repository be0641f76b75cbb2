from tortoise import migrations
from tortoise.migrations import operations as ops
from models.cases import CaseKind, CaseStage, CaseStatus, PersuasionKind, PersuasionResult
from models.children import Gender, GuardianRelation
from models.users import UserRole
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Household',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('township', fields.ForeignKeyField('models.Unit', source_field='township_id', db_constraint=True, to_field='id', related_name='registered_households', on_delete=OnDelete.RESTRICT)),
                ('village', fields.ForeignKeyField('models.Unit', source_field='village_id', null=True, db_constraint=True, to_field='id', related_name='village_households', on_delete=OnDelete.RESTRICT)),
                ('registration_place', fields.CharField(default='', max_length=200)),
                ('home_address', fields.CharField(default='', max_length=300)),
                ('family_situation', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'household', 'app': 'models', 'pk_attr': 'id', 'table_description': '一户: the household of registration (户籍地) and where the family lives.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Guardian',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='guardians', on_delete=OnDelete.CASCADE)),
                ('relation', fields.CharEnumField(description='FATHER: FATHER\nMOTHER: MOTHER\nOTHER: OTHER', enum_type=GuardianRelation, max_length=16)),
                ('name', fields.CharField(max_length=100)),
                ('phone', fields.CharField(default='', max_length=32)),
                ('occupation', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'guardian', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('topic', fields.CharField(max_length=64)),
                ('payload', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('effective_on', fields.DateField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'outbox_event', 'app': 'models', 'indexes': [Index(fields=['processed_at', 'id'], name='outbox_pending_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SchoolCalendar',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('school_year', fields.CharField(max_length=9)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', null=True, db_constraint=True, to_field='id', related_name='calendars', on_delete=OnDelete.CASCADE)),
                ('terms', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('holidays', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('makeup_days', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'school_calendar', 'app': 'models', 'pk_attr': 'id', 'table_description': "The county's calendar (school None) or one school's own, for a school year like 2026-2027."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Student',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('gender', fields.CharEnumField(description='MALE: MALE\nFEMALE: FEMALE', enum_type=Gender, max_length=8)),
                ('birth_date', fields.DateField()),
                ('citizen_id', fields.CharField(unique=True, max_length=18)),
                ('student_number', fields.CharField(null=True, unique=True, max_length=32)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', db_constraint=True, to_field='id', related_name='students', on_delete=OnDelete.RESTRICT)),
                ('grade', fields.IntField()),
                ('class_name', fields.CharField(default='', max_length=32)),
                ('head_teacher', fields.ForeignKeyField('models.User', source_field='head_teacher_id', null=True, db_constraint=True, to_field='id', related_name='head_teacher_of', on_delete=OnDelete.SET_NULL)),
                ('head_teacher_name', fields.CharField(default='', max_length=100)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='students', on_delete=OnDelete.RESTRICT)),
                ('is_demo', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'student', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Case',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('student', fields.ForeignKeyField('models.Student', source_field='student_id', db_constraint=True, to_field='id', related_name='cases', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='NOT_ENROLLED_GRADE1: NOT_ENROLLED_GRADE1\nGRADE7_NOT_REPORTED: GRADE7_NOT_REPORTED\nABSENT_WITHOUT_REASON: ABSENT_WITHOUT_REASON\nHIGH_SCHOOL_DROPOUT: HIGH_SCHOOL_DROPOUT', enum_type=CaseKind, max_length=32)),
                ('status', fields.CharEnumField(default=CaseStatus.OPEN, description='OPEN: OPEN\nCLOSED: CLOSED', enum_type=CaseStatus, max_length=16)),
                ('stage', fields.CharEnumField(default=CaseStage.OPENED, description='OPENED: OPENED\nHEAD_TEACHER: HEAD_TEACHER\nSCHOOL_VISIT: SCHOOL_VISIT\nCOLLECTIVE_VISIT: COLLECTIVE_VISIT\nREPORT_DUE: REPORT_DUE\nREPORTED: REPORTED\nVOCATIONAL_REFERRAL: VOCATIONAL_REFERRAL\nRETURNED: RETURNED', enum_type=CaseStage, max_length=32)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('episode', fields.IntField(default=1)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', db_constraint=True, to_field='id', related_name='school_cases', on_delete=OnDelete.RESTRICT)),
                ('township', fields.ForeignKeyField('models.Unit', source_field='township_id', db_constraint=True, to_field='id', related_name='township_cases', on_delete=OnDelete.RESTRICT)),
                ('absent_since', fields.DateField()),
                ('escalation_level', fields.IntField(default=0)),
                ('follow_up_name', fields.CharField(null=True, max_length=100)),
                ('follow_up_phone', fields.CharField(null=True, max_length=32)),
                ('returned_on', fields.DateField(null=True)),
                ('close_reason', fields.TextField(null=True, unique=False)),
                ('close_evidence', fields.TextField(null=True, unique=False)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'dropout_case', 'app': 'models', 'indexes': [Index(fields=['status', 'id'], name='case_status_idx'), Index(fields=['school_id', 'status'], name='case_school_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Absence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('student', fields.ForeignKeyField('models.Student', source_field='student_id', db_constraint=True, to_field='id', related_name='absences', on_delete=OnDelete.RESTRICT)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='absences', on_delete=OnDelete.RESTRICT)),
                ('day', fields.DateField()),
                ('note', fields.TextField(default='', unique=False)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='recorded_absences', on_delete=OnDelete.SET_NULL)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'absence', 'app': 'models', 'unique_together': (('student', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CaseEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='case_events', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=48)),
                ('detail', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'case_event', 'app': 'models', 'pk_attr': 'id', 'table_description': "A line of the case's timeline."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DropoutReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.CASCADE)),
                ('episode', fields.IntField(default=1)),
                ('absent_from', fields.DateField()),
                ('absent_to', fields.DateField()),
                ('persuasion_count', fields.IntField()),
                ('situation', fields.TextField(unique=False)),
                ('contact_person', fields.CharField(max_length=100)),
                ('contact_phone', fields.CharField(max_length=32)),
                ('filed_by', fields.ForeignKeyField('models.User', source_field='filed_by_id', null=True, db_constraint=True, to_field='id', related_name='filed_reports', on_delete=OnDelete.SET_NULL)),
                ('filed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'dropout_report', 'app': 'models', 'pk_attr': 'id', 'table_description': '疑似辍学学生劝学返校报告单 (附件3), filed in three copies.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PersuasionRecord',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='persuasion_records', on_delete=OnDelete.CASCADE)),
                ('episode', fields.IntField(default=1)),
                ('kind', fields.CharEnumField(description='HEAD_TEACHER_CALL: HEAD_TEACHER_CALL\nSCHOOL_HOME_VISIT: SCHOOL_HOME_VISIT\nCOLLECTIVE_HOME_VISIT: COLLECTIVE_HOME_VISIT\nOTHER: OTHER', enum_type=PersuasionKind, max_length=32)),
                ('result', fields.CharEnumField(description='RETURNING: RETURNING\nFAILED: FAILED\nPENDING: PENDING', enum_type=PersuasionResult, max_length=16)),
                ('held_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('persuaders', fields.CharField(max_length=300)),
                ('process', fields.TextField(unique=False)),
                ('family_situation', fields.TextField(default='', unique=False)),
                ('parents_attitude', fields.TextField(default='', unique=False)),
                ('student_attitude', fields.TextField(default='', unique=False)),
                ('school_opinion', fields.TextField(default='', unique=False)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='persuasion_records', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'persuasion_record', 'app': 'models', 'pk_attr': 'id', 'table_description': '劝学记录表 (附件2): one persuasion and what came of it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReportRouting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('report', fields.ForeignKeyField('models.DropoutReport', source_field='report_id', db_constraint=True, to_field='id', related_name='routings', on_delete=OnDelete.CASCADE)),
                ('receiver', fields.ForeignKeyField('models.Unit', source_field='receiver_id', db_constraint=True, to_field='id', related_name='received_reports', on_delete=OnDelete.RESTRICT)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sender_name', fields.CharField(max_length=100)),
                ('received_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('receiver_name', fields.CharField(null=True, max_length=100)),
                ('receiver_contact', fields.CharField(null=True, max_length=100)),
                ('result', fields.TextField(null=True, unique=False)),
                ('result_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'report_routing', 'app': 'models', 'unique_together': (('report', 'receiver'),), 'pk_attr': 'id', 'table_description': "One line of the report's routing table: a copy sent to one receiving unit."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SystemClock',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('as_of', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'system_clock', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The settable clock shared by every process when CLOCK_SOURCE=database (tests, replays).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Task',
            name='assignee_role',
            field=fields.CharEnumField(null=True, description='LIAISON: LIAISON\nUNIT_LEADER: UNIT_LEADER\nHEAD_TEACHER: HEAD_TEACHER\nSCHOOL_OFFICE: SCHOOL_OFFICE\nSCHOOL_LEADER: SCHOOL_LEADER\nPRINCIPAL: PRINCIPAL\nOFFICE: OFFICE\nADMIN: ADMIN', enum_type=UserRole, max_length=16),
        ),
        ops.AddField(
            model_name='Task',
            name='case',
            field=fields.ForeignKeyField('models.Case', source_field='case_id', null=True, db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='User',
            name='role',
            field=fields.CharEnumField(description='LIAISON: LIAISON\nUNIT_LEADER: UNIT_LEADER\nHEAD_TEACHER: HEAD_TEACHER\nSCHOOL_OFFICE: SCHOOL_OFFICE\nSCHOOL_LEADER: SCHOOL_LEADER\nPRINCIPAL: PRINCIPAL\nOFFICE: OFFICE\nADMIN: ADMIN', enum_type=UserRole, max_length=16),
        ),
    ]
