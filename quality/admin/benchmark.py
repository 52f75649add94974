"""Benchmarking has no rows of its own to administer."""
