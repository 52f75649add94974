"""CRM admin, by area: customers and interactions (core), care reminders, complaints. Each
module registers its models on import."""

from . import complaints, core, reminders  # noqa: F401
