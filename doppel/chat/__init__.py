"""`doppel chat`: talk to the twin in the terminal (command.py)."""
