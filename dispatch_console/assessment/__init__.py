"""Assessment (考核): the monthly on-time rates and 90th percentiles per community, grid and unit,
information-reporting deadlines, and every breached deadline with who held the incident (责任倒查).

The room's public face: ``monthly`` computes, ``export`` writes the workbook.
"""

from dispatch_console.assessment.export import append_safe, write_xlsx
from dispatch_console.assessment.monthly import TARGETS, Assessment, Breach, GroupRow, assess, month_bounds, p90

__all__ = [
           "TARGETS",
           "Assessment",
           "Breach",
           "GroupRow",
           "append_safe",
           "assess",
           "month_bounds",
           "p90",
           "write_xlsx",
]
