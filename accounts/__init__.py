"""Accounts: users, user types, organisations, roles, trainings and API tokens."""
