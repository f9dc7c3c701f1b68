"""Idempotency keys: a create retried with the same ``Idempotency-Key`` gets the first response.

- ``models``: the record of a key (per principal), the request's fingerprint and the response.
- ``service``: look a key up (replay, 422 on another request, 409 while the first is in flight),
  claim it inside the create's own transaction, store the response.
"""
