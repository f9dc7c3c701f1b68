"""Append-only, hash-chained log of what matters for audits (tamper evidence)."""
