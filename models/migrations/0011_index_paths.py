"""An index path for every list the schema offers, nested ones included (issue 13).

Lists under an object (Case.tasks, Fact.tasks, Student.cases, Student.facts, a case's timeline,
absences, persuasion records and reports, a task's history, a household's guardians, a unit's
children and members) are read by their parent's id in their own order; the root lists by the
filters the schema offers (a school's, a township's, a student's cases newest first; a duty's
tasks; every task by due date) and by the visibility filters of tasks/access.py (students by
household and head teacher, households by township and village, tasks by claimant).
"""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0010_live')]

    initial = False

    operations = [
        ops.RunSQL(
            "CREATE INDEX task_open_due_idx ON task (due_at, id) WHERE status IN ('OPEN', 'IN_PROGRESS')",
            reverse_sql="DROP INDEX task_open_due_idx",
        ),
        ops.RunSQL(
            "CREATE INDEX task_open_queue_idx ON task (assignee_unit_id, due_at, id)"
            " WHERE status IN ('OPEN', 'IN_PROGRESS')",
            reverse_sql="DROP INDEX task_open_queue_idx",
        ),
        ops.AddIndex(model_name='Task', index=Index(fields=['case_id', 'due_at', 'id'], name='task_case_idx')),
        ops.AddIndex(model_name='Task', index=Index(fields=['fact_id', 'due_at', 'id'], name='task_fact_idx')),
        ops.AddIndex(model_name='Task', index=Index(fields=['duty_id', 'due_at', 'id'], name='task_duty_idx')),
        ops.AddIndex(model_name='Task', index=Index(fields=['assignee_id', 'due_at', 'id'], name='task_assignee_idx')),
        ops.AddIndex(model_name='Task', index=Index(fields=['due_at', 'id'], name='task_due_any_idx')),
        ops.AddIndex(model_name='TaskEvent', index=Index(fields=['task_id', 'id'], name='task_event_task_idx')),
        ops.AddIndex(model_name='Case', index=Index(fields=['school_id', 'id'], name='case_school_id_idx')),
        ops.AddIndex(model_name='Case', index=Index(fields=['township_id', 'id'], name='case_township_idx')),
        ops.AddIndex(model_name='Case', index=Index(fields=['student_id', 'id'], name='case_student_idx')),
        ops.AddIndex(model_name='Absence', index=Index(fields=['case_id', 'day', 'id'], name='absence_case_idx')),
        ops.AddIndex(model_name='CaseEvent', index=Index(fields=['case_id', 'id'], name='case_event_case_idx')),
        ops.AddIndex(model_name='PersuasionRecord', index=Index(fields=['case_id', 'held_at', 'id'], name='persuasion_case_idx')),
        ops.AddIndex(model_name='DropoutReport', index=Index(fields=['case_id', 'id'], name='report_case_idx')),
        ops.AddIndex(model_name='Household', index=Index(fields=['township_id', 'id'], name='household_township_idx')),
        ops.AddIndex(model_name='Household', index=Index(fields=['village_id', 'id'], name='household_village_idx')),
        ops.AddIndex(model_name='Guardian', index=Index(fields=['household_id', 'id'], name='guardian_household_idx')),
        ops.AddIndex(model_name='Student', index=Index(fields=['school_id', 'id'], name='student_school_idx')),
        ops.AddIndex(model_name='Student', index=Index(fields=['household_id', 'id'], name='student_household_idx')),
        ops.AddIndex(model_name='Student', index=Index(fields=['head_teacher_id', 'id'], name='student_head_teacher_idx')),
        ops.AddIndex(model_name='Fact', index=Index(fields=['student_id', 'id'], name='fact_student_idx')),
        ops.AddIndex(model_name='Unit', index=Index(fields=['parent_id', 'position', 'id'], name='unit_parent_idx')),
        ops.AddIndex(model_name='Membership', index=Index(fields=['unit_id', 'position', 'id'], name='membership_unit_idx')),
        ops.AddIndex(model_name='DutyParty', index=Index(fields=['duty_id', 'position', 'id'], name='duty_party_duty_idx')),
    ]
