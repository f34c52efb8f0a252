"""The typed clients, generated from `openapi/openapi.json` (`python -m clients.generate`)."""
