from tortoise import migrations
from tortoise.migrations import operations as ops
from models.children import Gender
from models.population import AgeBand, CensusLineStatus, CrossCheckRunStatus, FindingKind, FindingStatus, VillageGroupKind
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_school_roll')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CrossCheckRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('as_of', fields.DateField()),
                ('status', fields.CharEnumField(default=CrossCheckRunStatus.RUNNING, description='RUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED', enum_type=CrossCheckRunStatus, max_length=16)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_by_id', fields.IntField(null=True)),
                ('summary', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'crosscheck_run', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VillageGroup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('village', fields.ForeignKeyField('models.Unit', source_field='village_id', db_constraint=True, to_field='id', related_name='village_groups', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharEnumField(default=VillageGroupKind.VILLAGE_GROUP, description='VILLAGE_GROUP: VILLAGE_GROUP\nCOMPOUND: COMPOUND', enum_type=VillageGroupKind, max_length=16)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', null=True, db_constraint=True, to_field='id', related_name='catchment_groups', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'village_group', 'app': 'models', 'unique_together': (('village', 'name'),), 'pk_attr': 'id', 'table_description': 'A 村民小组 or 小区: the unit of one household book.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CensusBook',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('year', fields.IntField()),
                ('village_group', fields.ForeignKeyField('models.VillageGroup', source_field='village_group_id', db_constraint=True, to_field='id', related_name='census_books', on_delete=OnDelete.RESTRICT)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', db_constraint=True, to_field='id', related_name='census_books', on_delete=OnDelete.RESTRICT)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'census_book', 'app': 'models', 'unique_together': (('year', 'village_group'),), 'pk_attr': 'id', 'table_description': '学户册: one book per village group or compound per census year, made by the catchment school.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CensusPage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('book', fields.ForeignKeyField('models.CensusBook', source_field='book_id', db_constraint=True, to_field='id', related_name='pages', on_delete=OnDelete.CASCADE)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', null=True, db_constraint=True, to_field='id', related_name='census_pages', on_delete=OnDelete.SET_NULL)),
                ('household_number', fields.CharField(max_length=40)),
                ('head_name', fields.CharField(default='', max_length=100)),
                ('address', fields.CharField(default='', max_length=300)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'census_page', 'app': 'models', 'unique_together': (('book', 'household_number'),), 'pk_attr': 'id', 'table_description': 'One page per household.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CensusLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('page', fields.ForeignKeyField('models.CensusPage', source_field='page_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('book', fields.ForeignKeyField('models.CensusBook', source_field='book_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField(default=0)),
                ('citizen_id', fields.CharField(max_length=18)),
                ('name', fields.CharField(max_length=100)),
                ('gender', fields.CharEnumField(description='MALE: MALE\nFEMALE: FEMALE', enum_type=Gender, max_length=8)),
                ('birth_date', fields.DateField()),
                ('relation', fields.CharField(default='', max_length=32)),
                ('status', fields.CharEnumField(default=CensusLineStatus.OTHER, description='IN_SCHOOL: IN_SCHOOL\nPRESCHOOL: PRESCHOOL\nNOT_ENROLLED: NOT_ENROLLED\nOUT_OF_COUNTY: OUT_OF_COUNTY\nDEFERRED: DEFERRED\nHOME_TEACHING: HOME_TEACHING\nUNDER_AGE: UNDER_AGE\nOTHER: OTHER', enum_type=CensusLineStatus, max_length=16)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', null=True, db_constraint=True, to_field='id', related_name='census_lines', on_delete=OnDelete.SET_NULL)),
                ('school_text', fields.CharField(default='', max_length=200)),
                ('grade_text', fields.CharField(default='', max_length=32)),
                ('guardian_name', fields.CharField(default='', max_length=100)),
                ('guardian_phone', fields.CharField(default='', max_length=32)),
                ('remark', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'census_line', 'app': 'models', 'unique_together': (('book', 'citizen_id'),), 'indexes': [Index(fields=['citizen_id'], name='census_line_citizen_idx')], 'pk_attr': 'id', 'table_description': 'One line per person aged 0-18 found in the household.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Resident',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('citizen_id', fields.CharField(unique=True, max_length=18)),
                ('name', fields.CharField(max_length=100)),
                ('gender', fields.CharEnumField(description='MALE: MALE\nFEMALE: FEMALE', enum_type=Gender, max_length=8)),
                ('birth_date', fields.DateField()),
                ('ethnicity', fields.CharField(default='', max_length=32)),
                ('household', fields.ForeignKeyField('models.Household', source_field='household_id', null=True, db_constraint=True, to_field='id', related_name='residents', on_delete=OnDelete.SET_NULL)),
                ('village_group', fields.ForeignKeyField('models.VillageGroup', source_field='village_group_id', null=True, db_constraint=True, to_field='id', related_name='residents', on_delete=OnDelete.SET_NULL)),
                ('township', fields.ForeignKeyField('models.Unit', source_field='township_id', null=True, db_constraint=True, to_field='id', related_name='registered_residents', on_delete=OnDelete.RESTRICT)),
                ('village', fields.ForeignKeyField('models.Unit', source_field='village_id', null=True, db_constraint=True, to_field='id', related_name='village_residents', on_delete=OnDelete.RESTRICT)),
                ('registered_address', fields.CharField(default='', max_length=300)),
                ('actual_address', fields.CharField(default='', max_length=300)),
                ('living_here', fields.BooleanField(default=True)),
                ('guardian_name', fields.CharField(default='', max_length=100)),
                ('guardian_phone', fields.CharField(default='', max_length=32)),
                ('source', fields.CharField(max_length=64)),
                ('as_of', fields.DateField()),
                ('version', fields.IntField(default=1)),
                ('is_demo', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'resident', 'app': 'models', 'indexes': [Index(fields=['township_id', 'birth_date'], name='resident_township_idx'), Index(fields=['village_group_id', 'household_id'], name='resident_group_idx')], 'pk_attr': 'id', 'table_description': 'A resident aged 0-18 as the latest source has them. Pupils are residents (join on citizen_id).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CrossCheckFinding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='NOT_ENROLLED: NOT_ENROLLED\nNOT_LIVING_HERE: NOT_LIVING_HERE\nNOT_ATTENDING: NOT_ATTENDING\nTWO_SCHOOLS: TWO_SCHOOLS\nCENSUS_ONLY: CENSUS_ONLY', enum_type=FindingKind, max_length=16)),
                ('band', fields.CharEnumField(null=True, description='PRESCHOOL: PRESCHOOL\nPRIMARY: PRIMARY\nJUNIOR: JUNIOR', enum_type=AgeBand, max_length=16)),
                ('status', fields.CharEnumField(default=FindingStatus.OPEN, description='OPEN: OPEN\nCLOSED: CLOSED\nEXPLAINED: EXPLAINED', enum_type=FindingStatus, max_length=16)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=48)),
                ('citizen_id', fields.CharField(max_length=18)),
                ('name', fields.CharField(default='', max_length=100)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', null=True, db_constraint=True, to_field='id', related_name='findings', on_delete=OnDelete.SET_NULL)),
                ('student', fields.ForeignKeyField('models.Student', source_field='student_id', null=True, db_constraint=True, to_field='id', related_name='findings', on_delete=OnDelete.SET_NULL)),
                ('township', fields.ForeignKeyField('models.Unit', source_field='township_id', null=True, db_constraint=True, to_field='id', related_name='township_findings', on_delete=OnDelete.SET_NULL)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', null=True, db_constraint=True, to_field='id', related_name='school_findings', on_delete=OnDelete.SET_NULL)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='acting_findings', on_delete=OnDelete.SET_NULL)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', null=True, db_constraint=True, to_field='id', related_name='findings', on_delete=OnDelete.SET_NULL)),
                ('evidence', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('run', fields.ForeignKeyField('models.CrossCheckRun', source_field='run_id', db_constraint=True, to_field='id', related_name='findings', on_delete=OnDelete.RESTRICT)),
                ('last_seen_run_id', fields.IntField()),
                ('closed_run_id', fields.IntField(null=True)),
                ('close_reason', fields.CharField(null=True, max_length=200)),
                ('close_evidence', fields.TextField(null=True, unique=False)),
                ('explained_by_id', fields.IntField(null=True)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'crosscheck_finding', 'app': 'models', 'indexes': [Index(fields=['status', 'kind', 'id'], name='finding_status_idx'), Index(fields=['township_id', 'status'], name='finding_township_idx'), Index(fields=['school_id', 'status'], name='finding_school_idx'), Index(fields=['unit_id', 'status'], name='finding_unit_idx')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResidentVersion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('resident', fields.ForeignKeyField('models.Resident', source_field='resident_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('source', fields.CharField(max_length=64)),
                ('as_of', fields.DateField()),
                ('data', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('changed', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'resident_version', 'app': 'models', 'unique_together': (('resident', 'version'),), 'pk_attr': 'id', 'table_description': 'Append-only history: the resident as each source gave them (version 1 = first seen).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Household',
            name='head_name',
            field=fields.CharField(default='', max_length=100),
        ),
        ops.AddField(
            model_name='Household',
            name='household_number',
            field=fields.CharField(null=True, unique=True, max_length=40),
        ),
        ops.AddField(
            model_name='Household',
            name='village_group',
            field=fields.ForeignKeyField('models.VillageGroup', source_field='village_group_id', null=True, db_constraint=True, to_field='id', related_name='households', on_delete=OnDelete.SET_NULL),
        ),
    ]
