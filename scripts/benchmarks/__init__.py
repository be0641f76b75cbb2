"""Benchmark scripts: `.venv/bin/python -m scripts.benchmarks.<name>`."""
