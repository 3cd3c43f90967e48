"""Reusable widgets: leaves that get their data from attributes and never touch the store."""
