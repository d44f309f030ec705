"""Emergency supplies (应急物资) and shelters (避难场所)."""
