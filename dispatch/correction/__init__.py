"""Corrective action for weak service points (整改): plans, the manager's answers, the targeted
re-audit and HQ's decision."""
