"""Benchmarks of the loyalty service: `python -m bench` (see the README, "Benchmarks")."""
