"""The incident queue, its detail panel, the action keys and the intake form."""
