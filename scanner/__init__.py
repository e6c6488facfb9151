"""dhscan: a data-handling scanner for ML evaluation datasets, trace logs and vector indexes."""

__version__ = "0.1.0"
