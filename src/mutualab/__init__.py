"""Mutualab: booking service for shared public places."""
