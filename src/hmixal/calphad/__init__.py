"""CALPHAD source (placeholder, written in the split commit)."""
