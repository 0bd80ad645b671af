"""Benchmarks and data generators: `make bench` runs `python -m bench.run`."""
