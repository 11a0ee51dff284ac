"""The model: endpoint settings, the client, JSON repair, the embedded server, the call log."""
