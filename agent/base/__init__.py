"""What every layer uses: errors, configuration, escaping, token counts."""
