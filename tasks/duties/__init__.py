"""The duty register, the duty calendar and deadlines (reminders, escalation)."""
