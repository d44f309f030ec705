"""Data files shipped with the console: themes, translations, templates, policies, scenarios."""
