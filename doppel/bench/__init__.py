"""Rerunnable benchmarks that print their figures: prep, train, serve, scrub (`doppel bench`, command.py)."""
