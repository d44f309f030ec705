"""Emergency-response checklists: templates and the ticked steps of an incident, with reporting deadlines."""
