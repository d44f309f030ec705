"""The duty board, the roster calendar and its dialogs."""
