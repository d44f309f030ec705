"""The kernel every room stands on: who acts (actor, permissions), errors, translations, time
formatting, site configuration, recording changes (audit chain, change log) and reading them (change
feed), secrets, incident categories and the console context."""
