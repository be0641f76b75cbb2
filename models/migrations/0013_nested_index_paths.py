"""Index paths for lists under an object that 0011 left without one (issue 13).

A school's rosters are read by either of its two columns (the primary school's is led by the roster's
unique key, the middle school's had none), and the transfers a school has not confirmed yet by the school
the pupil moves to, oldest day first. A roster's lines are led by their unique key (handover, student);
a case's absences, a pupil's movements, a resident's versions and a person's memberships had theirs.
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0012_clock_marks')]

    initial = False

    operations = [
        ops.AddIndex(model_name='GraduateHandover', index=Index(fields=['middle_school_id', 'id'], name='handover_middle_school_idx')),
        ops.AddIndex(model_name='RollMovement', index=Index(fields=['other_school_id', 'day', 'id'], name='movement_other_school_idx')),
    ]
