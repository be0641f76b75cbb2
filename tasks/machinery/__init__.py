"""The machinery: outbox, dispatch, jobs, the arq worker and the in-process runner."""
