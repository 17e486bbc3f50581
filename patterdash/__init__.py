"""patterdash: a durable call-monitoring dashboard for voice-AI phone agents."""

from patterdash.core.events import Event, EventIn, LoggedEvent
from patterdash.core.projection import Projection
from patterdash.service import Service
from patterdash.settings import Settings, load_settings
from patterdash.store.sqlite import EventLog

__all__ = [
    "Event",
    "EventIn",
    "EventLog",
    "LoggedEvent",
    "Projection",
    "Service",
    "Settings",
    "load_settings",
]
__version__ = "0.1.0"
