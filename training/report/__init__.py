"""Reproduction of the seed report's GTZAN experiments (image models, report table)."""
