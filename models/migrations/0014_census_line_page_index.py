"""An index path for a household page's lines (HouseholdPage.lines and linesConnection, issue 13).

They are read by their page in the sheet's order; census_line had indexes by citizen ID and by book only, so a
page's lines scanned the whole census. A household's guardians, a ledger line's entries and a digest's tasks
already had theirs (guardian_household_idx, ledger_case_idx, the task's primary key).
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0013_nested_index_paths')]

    initial = False

    operations = [
        ops.AddIndex(model_name='CensusLine', index=Index(fields=['page_id', 'position', 'id'], name='census_line_page_idx')),
    ]
