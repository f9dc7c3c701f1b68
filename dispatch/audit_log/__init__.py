"""Append-only, hash-chained log of what matters for audits (tamper evidence), with content
hashes (seals) of the rows HQ relies on: see :mod:`dispatch.audit_log.service`."""
