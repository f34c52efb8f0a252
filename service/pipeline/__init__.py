"""The event pipeline: a set of events (or one member's operation) locked, loaded,
decided in one pure step (`service.decide`) and saved, in one transaction."""
