"""Fixtures of the shape-bias tests (defined in helpers.py)."""

from tests.shapebias.helpers import cue_conflict_dir, oracle_file  # noqa: F401
