"""The model side: checkpoints (one check for all), the tiny offline base, encoding rows, the twin."""
