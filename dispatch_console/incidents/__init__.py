"""Incidents: recording, lifecycle, numbers, units, the queue and its search, timeline, intake,
statistics, map data, and the follow-ups other rooms hang on an incident change."""
