"""Benchmarks of the loyalty service: `python -m bench` (see docs/benchmarks.md)."""
