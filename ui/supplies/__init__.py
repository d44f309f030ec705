"""Views of the supplies room: the supplies and shelters dock."""
