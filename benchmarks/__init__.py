"""Benchmarks and research tools. Run them from the repository root:
``python -m benchmarks.NAME --help``."""
