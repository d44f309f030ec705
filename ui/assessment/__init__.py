"""Views of the assessment: the monthly report as a PDF (the command line's --pdf)."""
