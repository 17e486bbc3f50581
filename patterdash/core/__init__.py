"""No I/O: event models, the projection fold, aggregates, the bus, replay timelines, redaction."""
