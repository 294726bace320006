"""Benchmarks (`make bench` = `python -m benchmarks [--quick] [name ...]`); figures in README.md."""
