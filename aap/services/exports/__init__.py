"""Workbooks and open-data files built with pandas and xlsxwriter."""
