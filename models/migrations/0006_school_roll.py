from tortoise import migrations
from tortoise.migrations import operations as ops
from models.registers import LeaveReason, LedgerMark, MovementKind, TransferScope
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_audit_trail')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GraduateHandover',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('primary_school', fields.ForeignKeyField('models.Unit', source_field='primary_school_id', db_constraint=True, to_field='id', related_name='handovers_sent', on_delete=OnDelete.RESTRICT)),
                ('middle_school', fields.ForeignKeyField('models.Unit', source_field='middle_school_id', db_constraint=True, to_field='id', related_name='handovers_received', on_delete=OnDelete.RESTRICT)),
                ('school_year', fields.CharField(max_length=9)),
                ('term_start', fields.DateField()),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='handovers_made', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('acknowledged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('acknowledged_by', fields.ForeignKeyField('models.User', source_field='acknowledged_by_id', null=True, db_constraint=True, to_field='id', related_name='handovers_acknowledged', on_delete=OnDelete.SET_NULL)),
                ('signed_by_name', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'graduate_handover', 'app': 'models', 'unique_together': (('primary_school', 'middle_school', 'school_year'),), 'pk_attr': 'id', 'table_description': "四(二)5: a primary school's graduates of a year, handed on a roster to the designated middle school."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HandoverLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('handover', fields.ForeignKeyField('models.GraduateHandover', source_field='handover_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('student', fields.ForeignKeyField('models.Student', source_field='student_id', db_constraint=True, to_field='id', related_name='handover_lines', on_delete=OnDelete.RESTRICT)),
                ('registered_on', fields.DateField(null=True)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', null=True, db_constraint=True, to_field='id', related_name='handover_lines', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'handover_line', 'app': 'models', 'unique_together': (('handover', 'student'),), 'pk_attr': 'id', 'table_description': 'One graduate on the roster, and the day the middle school registered them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('models.Case', source_field='case_id', db_constraint=True, to_field='id', related_name='ledger_entries', on_delete=OnDelete.RESTRICT)),
                ('mark', fields.CharEnumField(description='CONFIRMED_DROPOUT: CONFIRMED_DROPOUT\nUNREACHABLE: UNREACHABLE\nPERSUADED_BACK: PERSUADED_BACK', enum_type=LedgerMark, max_length=24)),
                ('day', fields.DateField()),
                ('evidence', fields.TextField(unique=False)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='ledger_entries', on_delete=OnDelete.SET_NULL)),
                ('recorded_by_name', fields.CharField(default='', max_length=100)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'ledger_entry', 'app': 'models', 'indexes': [Index(fields=['case_id', 'id'], name='ledger_case_idx')], 'pk_attr': 'id', 'table_description': 'A line of the dropout ledger (辍学学生工作台账, 四(二)7), on a case, with its evidence.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RollMovement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('student', fields.ForeignKeyField('models.Student', source_field='student_id', db_constraint=True, to_field='id', related_name='roll_movements', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='TRANSFER_OUT: TRANSFER_OUT\nTRANSFER_IN: TRANSFER_IN\nSUSPEND: SUSPEND\nRESUME: RESUME\nPROMOTE: PROMOTE\nGRADUATE: GRADUATE\nLEAVE: LEAVE', enum_type=MovementKind, max_length=16)),
                ('day', fields.DateField()),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', db_constraint=True, to_field='id', related_name='roll_movements', on_delete=OnDelete.RESTRICT)),
                ('scope', fields.CharEnumField(null=True, description='IN_COUNTY: IN_COUNTY\nOTHER_COUNTY: OTHER_COUNTY\nOTHER_PROVINCE: OTHER_PROVINCE', enum_type=TransferScope, max_length=16)),
                ('other_school', fields.ForeignKeyField('models.Unit', source_field='other_school_id', null=True, db_constraint=True, to_field='id', related_name='roll_movements_other', on_delete=OnDelete.RESTRICT)),
                ('other_place', fields.CharField(default='', max_length=200)),
                ('leave_reason', fields.CharEnumField(null=True, description='DEATH: DEATH\nEMIGRATION: EMIGRATION\nOTHER: OTHER', enum_type=LeaveReason, max_length=16)),
                ('expected_return', fields.DateField(null=True)),
                ('grade', fields.IntField(null=True)),
                ('evidence', fields.TextField(unique=False)),
                ('note', fields.TextField(default='', unique=False)),
                ('recorded_by', fields.ForeignKeyField('models.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='recorded_movements', on_delete=OnDelete.SET_NULL)),
                ('recorded_by_name', fields.CharField(default='', max_length=100)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('arrival_confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('arrival_confirmed_by', fields.ForeignKeyField('models.User', source_field='arrival_confirmed_by_id', null=True, db_constraint=True, to_field='id', related_name='confirmed_arrivals', on_delete=OnDelete.SET_NULL)),
                ('arrival_case', fields.ForeignKeyField('models.Case', source_field='arrival_case_id', null=True, db_constraint=True, to_field='id', related_name='unconfirmed_transfers', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'roll_movement', 'app': 'models', 'indexes': [Index(fields=['student_id', 'day'], name='movement_student_idx')], 'pk_attr': 'id', 'table_description': "One dated change of a pupil's roll (学籍异动), with its evidence and who recorded it."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SchoolClass',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('school', fields.ForeignKeyField('models.Unit', source_field='school_id', db_constraint=True, to_field='id', related_name='classes', on_delete=OnDelete.RESTRICT)),
                ('school_year', fields.CharField(default='', max_length=9)),
                ('grade', fields.IntField()),
                ('name', fields.CharField(max_length=32)),
                ('head_teacher', fields.ForeignKeyField('models.User', source_field='head_teacher_id', null=True, db_constraint=True, to_field='id', related_name='classes_led', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'school_class', 'app': 'models', 'unique_together': (('school', 'school_year', 'grade', 'name'),), 'pk_attr': 'id', 'table_description': '一个班级: a class of a school in a grade, with its head teacher (班主任).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Student',
            name='roll_status',
            field=fields.CharField(default='ENROLLED', db_index=True, max_length=16),
        ),
        ops.AddField(
            model_name='Student',
            name='school_class',
            field=fields.ForeignKeyField('models.SchoolClass', source_field='school_class_id', null=True, db_constraint=True, to_field='id', related_name='pupils', on_delete=OnDelete.SET_NULL),
        ),
    ]
