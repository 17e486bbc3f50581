"""Payloads -> events: Patter ingest and native bodies, call logs and their watcher, imports, the demo."""
