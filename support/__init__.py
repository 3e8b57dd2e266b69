"""Helpers shared by the tests and the benchmarks: a real broker from Maven jars, worker
processes, producers and readers (kafka.py), and the fault harness counted from outside
with librdkafka (outside.py). Never imported by the service."""
