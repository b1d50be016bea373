"""Reusable pieces: the windowed record table, consumption bar, filter bar."""
