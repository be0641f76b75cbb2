"""An index path for a class's pupils (SchoolClass.pupils, issue 13), now that a school's classes and their pupils
are also read by one compiled statement (Unit.classes).

A class's pupils are read by their class in id order; student had indexes by school, household and head teacher
only, so each class's pupils (and their count) scanned every student. A school's classes are led by their unique
key (school, school year, grade, name).
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0014_census_line_page_index')]

    initial = False

    operations = [
        ops.AddIndex(model_name='Student', index=Index(fields=['school_class_id', 'id'], name='student_class_idx')),
    ]
