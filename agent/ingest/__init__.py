"""Reading a repository into the index: files, secrets, chunks, facts, history, decisions, retrieval."""
