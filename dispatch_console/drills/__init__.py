"""Emergency drills: scenarios, the drill clock, running a drill and its after-action report."""
