"""xlhand: AI math by hand, as spreadsheet workbooks of live formulas."""

__version__ = "0.1.0"
