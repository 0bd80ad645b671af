"""Importing records from CSV and XLSX files: reading, column mapping, value conversion, the import run."""
