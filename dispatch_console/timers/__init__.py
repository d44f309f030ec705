"""Deadlines on the database clock: the timer rows, firing exactly once, the engine, the lead and upkeep."""
