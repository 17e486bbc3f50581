"""patterdash: a durable call-monitoring dashboard for voice-AI phone agents."""

from patterdash.core.events import Event, EventIn, LoggedEvent
from patterdash.core.projection import Projection
from patterdash.service import Service
from patterdash.settings import Settings, load_settings
from patterdash.store import Store, open_store

__all__ = [
    "Event",
    "EventIn",
    "LoggedEvent",
    "Projection",
    "Service",
    "Settings",
    "Store",
    "load_settings",
    "open_store",
]
__version__ = "0.1.0"
