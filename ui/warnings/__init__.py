"""Views of the early warnings: the warning board (预警看板)."""
