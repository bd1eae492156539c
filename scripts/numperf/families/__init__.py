"""The experiment families: every module here that defines ``FAMILY`` is one (see numperf.family)."""
