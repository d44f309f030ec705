"""The station: the composition root that puts the rooms together, and the ``dispatch-console`` entry point."""
