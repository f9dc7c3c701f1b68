"""Worklists: what a point's manager (and HQ) must do next, with due times, and its outcome."""
