"""RQ task entry points: ids in, one service call, a small JSON dict out. Every task is idempotent."""
