"""Calendar backends: one small interface (base.py), three implementations."""
