"""The Django settings and URL confs the benchmarks run the demo with (one per benchmark)."""
