"""Benchmarks of the duty-room console: ``make bench`` (``python -m bench``) and ``make bench-quick``.

Each figure is measured on SQLite and on the local PostgreSQL with its baseline from the same
run, printed as a table and written to ``bench/results/latest.json``. Nothing here is a test:
speed belongs in this package, never in assertions of the test suite.
"""
