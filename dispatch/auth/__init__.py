"""Accounts, roles, tokens and the scoping rules every service applies."""
