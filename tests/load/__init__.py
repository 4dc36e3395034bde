"""Load benchmarks (bench_*.py): run by hand, never collected by pytest. See docs/benchmarks.md."""
