"""Spare parts and stock.

- ``models``: catalogue, locations (HQ, points, vans), levels, the movement ledger, transfers,
  reservations, parts fitted on jobs, labour rates, bill price overrides, warranty claims.
- ``rules``: pure bill, claim-check and replenishment calculations.
- ``ledger``: the only code that changes levels (conditional UPDATEs, lock order, audit entry).
- ``locations``: get-or-create of locations and who sees which.
- ``catalogue``, ``movements``, ``job_parts``, ``billing``, ``claims``, ``replenishment``: use cases.
- ``job_hooks``: reservations follow the job's lifecycle.
"""
