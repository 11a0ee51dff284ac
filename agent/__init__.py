"""docagent: drafts architecture documentation from a repository, with cited evidence."""

__version__ = "0.1.0"
