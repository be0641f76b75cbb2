"""The leading-group office: who owes what, the plan's targets, accountability, and the reports."""
