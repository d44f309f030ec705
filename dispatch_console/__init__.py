"""dispatch-console core: domain types, services, change feed, timers, command line. No Qt widgets."""

__version__ = "0.1.0"
