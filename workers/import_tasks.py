"""RQ entry point of bulk imports: run one stored import (a rerun skips a finished one; rows are
idempotent by their natural keys, so a run resumed after a crash repeats no change)."""

from __future__ import annotations

import uuid

from dispatch.auth.principal import SYSTEM
from dispatch.integrations import imports
from workers.runtime import get_runtime


def run_import(run_id: str) -> dict[str, object]:
    runtime = get_runtime()
    return imports.run(runtime.uow_factory, uuid.UUID(run_id), tz=runtime.settings.timezone, actor=SYSTEM,
                       hash_method=runtime.settings.password_hash_method)
