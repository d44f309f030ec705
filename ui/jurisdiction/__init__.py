"""The jurisdiction browser."""
