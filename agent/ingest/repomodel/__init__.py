"""The repository model: symbols, imports, interfaces, tables, integrations, components."""
