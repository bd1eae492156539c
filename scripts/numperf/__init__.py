"""numperf: reproducible measurements of NumPy pairwise-distance kernels."""

__version__ = "0.1.0"

#: Version tag written into every result record; bump on incompatible changes.
RECORD_SCHEMA = "numperf.case/3"
