"""Import every domain's models so that the metadata is complete (app, workers, Alembic, tests)."""

from dispatch.audit_log import models as audit_log_models  # noqa: F401
from dispatch.audits import models as audits_models  # noqa: F401
from dispatch.auth import models as auth_models  # noqa: F401
from dispatch.care import models as care_models  # noqa: F401
from dispatch.customers import models as customers_models  # noqa: F401
from dispatch.db import Base
from dispatch.idempotency import models as idempotency_models  # noqa: F401
from dispatch.jobs import models as jobs_models  # noqa: F401
from dispatch.network import models as network_models  # noqa: F401
from dispatch.routing import models as routing_models  # noqa: F401
from dispatch.sop import models as sop_models  # noqa: F401
from dispatch.stock import models as stock_models  # noqa: F401
from dispatch.sync import models as sync_models  # noqa: F401
from dispatch.warranty import models as warranty_models  # noqa: F401

metadata = Base.metadata
