"""Import every model module so ``Base.metadata`` knows every table.

Each feature keeps its models in its own module next to ``models.py``; add the
import here (Alembic's env and the tests read the metadata through this module).
"""

from api.alerts import models as alert_models  # noqa: F401
from api.analytics import models as analytics_models  # noqa: F401
from api.audit import models as audit_models  # noqa: F401
from api.auth import models as auth_models  # noqa: F401
from api.calendar import models as calendar_models  # noqa: F401
from api.camera_feed import models as camera_feed_models  # noqa: F401
from api.db import change_counters, models  # noqa: F401
from api.db.models import Base
from api.events import models as event_models  # noqa: F401
from api.field import models as field_models  # noqa: F401
from api.grids import models as grid_version_models  # noqa: F401
from api.handover import models as handover_models  # noqa: F401
from api.joint import models as joint_models  # noqa: F401
from api.notify import models as notify_models  # noqa: F401
from api.open311 import models as open311_models  # noqa: F401
from api.people import models as people_models  # noqa: F401

__all__ = ["Base"]
