"""Tortoise models: the county's units, duties, people, users and tasks."""
