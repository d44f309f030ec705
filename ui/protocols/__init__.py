"""Views of the protocols room: the intake questions and the dispatch proposal."""
