"""Tests of the experiment families other than the distances: one file per family."""
