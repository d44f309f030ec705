"""Rosters: shift types, shifts, who is on duty, leave, and roster files (xlsx/csv)."""
