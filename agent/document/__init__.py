"""Markdown templates in, documents out: parsing, the template tree, rendering, markers, merge."""
