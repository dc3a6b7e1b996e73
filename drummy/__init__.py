"""Drummy: grow new drum sounds out of the samples you already own."""
__version__ = "0.1.0"
