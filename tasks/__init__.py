"""The task engine: county policy as data, task workflow, queues, rules and jobs."""
