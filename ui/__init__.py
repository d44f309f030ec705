"""PySide6 views: main window, queue, map, rosters, checklists, handover, drills, charts."""
