"""The checklist panel of the selected incident."""
