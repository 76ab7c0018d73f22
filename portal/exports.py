"""Shared by the CSV exports."""


def spreadsheet_safe(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
