"""How far the jobs driven by the clock alone have got: tasks announced as they fall overdue (issue 14)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0011_index_paths')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ClockMark',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'clock_mark', 'app': 'models', 'pk_attr': 'name'},
            bases=['Model'],
        ),
    ]
