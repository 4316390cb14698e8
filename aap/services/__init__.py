"""Domain services: the one place views, the API and the CLI call to change data."""
