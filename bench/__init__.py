"""``python -m bench``: latency percentiles and throughput of the service's paths."""
