"""The shell of the console: application, main window, status bar, sign-in and lock, settings, theme,
the background runner and the change feed on the GUI thread, and the small widgets every room uses."""
