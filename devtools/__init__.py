"""Developer tools that do not ship in the wheel (pyproject's ``packages`` does not list
this package): fixture generators for the tests, benchmarks and scripts. Import them from
the repository root (``python3 -m pytest`` and the scripts put it on ``sys.path``)."""
