"""The HTTP layer: thin handlers over the service."""

from patterdash.web.app import create_app

__all__ = ["create_app"]
