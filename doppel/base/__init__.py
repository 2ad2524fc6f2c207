"""The base stage: the model the twin is tuned from (prepare.py; tiny.py builds the offline default)."""
