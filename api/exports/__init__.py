"""Spreadsheets to download: authenticated GET routes, each audited like a document download."""
