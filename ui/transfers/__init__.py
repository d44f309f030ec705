"""Views of the cross-region transfer room: the incoming-transfers dock."""
