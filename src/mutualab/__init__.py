"""Mutualab: booking service for shared public places."""

__version__ = "0.1.0"
