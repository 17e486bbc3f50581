"""The agents' client (batching, idempotent retries, never breaks the call) and the Patter adapter."""

from patterdash.client.adapter import PatterAdapter, mirror_patter_store
from patterdash.client.http import ClientStats, PatterdashClient, SyncPatterdashClient

__all__ = ["ClientStats", "PatterAdapter", "PatterdashClient", "SyncPatterdashClient", "mirror_patter_store"]
