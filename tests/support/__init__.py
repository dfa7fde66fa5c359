"""Test helpers: database provisioning and small factories."""
