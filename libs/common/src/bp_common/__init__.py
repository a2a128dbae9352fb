"""Shared kit of the Budapest Process services."""
