"""patterdash: a durable call-monitoring dashboard for voice-AI phone agents."""

from patterdash.events import Event, EventIn
from patterdash.log import EventLog, LoggedEvent
from patterdash.projection import Projection
from patterdash.service import Service
from patterdash.settings import Settings, load_settings

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
