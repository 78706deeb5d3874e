"""Configuration, database, problem+json errors, security and the clock of the central server."""
