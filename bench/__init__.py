"""Benchmarks for DESIGN §10; see bench/README.md. Numbers are recorded in docs/performance.md."""
