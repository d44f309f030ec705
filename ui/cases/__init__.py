"""The cases views: the case board dock (my cases / by unit / by grid / overdue / follow-ups due
this week) with the selected case's detail beside it, and the keyboard-first forms."""
