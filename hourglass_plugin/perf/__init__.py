"""Benchmarking our paths against plain PyTorch and mmdet (``tools/benchmark.py``)."""
