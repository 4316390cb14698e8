"""Workbooks and open-data files built with pandas and xlsxwriter."""

from __future__ import annotations

import io

import pandas as pd

#: Text typed by applicants stays text: a title starting with ``=`` is never a formula
#: (spreadsheet injection) and a URL is not made a live link.
TEXT_ONLY = {"strings_to_formulas": False, "strings_to_urls": False}


def excel_writer(buffer: io.BytesIO) -> pd.ExcelWriter:
    """A pandas writer for a workbook whose text cells are written as text only."""
    return pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": TEXT_ONLY})
