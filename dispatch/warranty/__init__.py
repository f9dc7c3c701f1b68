"""Warranty decisions: fault causes at completion, traceable serials (agents, dealers, a unit's
journey), and the reports HQ reads to stop after-sales fraud.

The package sits above ``jobs``, ``network`` and ``stock`` (it reads jobs, units and claims and
acts on them through their services) and below ``sync`` and ``kpis``.
"""
