"""llem workload harness for PyTorch/transformers (run as `python -m llem_harness`)."""

__version__ = "0.1.0"
