"""The drill panel and the after-action report view."""
