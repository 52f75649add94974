"""Benchmarking has no state changes: see selectors.benchmark."""

__all__: list[str] = []
