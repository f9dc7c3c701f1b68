"""Key performance indicators of the service network."""
