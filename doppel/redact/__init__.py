"""Redaction of private data: typed placeholders (<PHONE>, <CARD>, ...) with per-type counts."""
