"""Beat tasks of quality: finding reminders and escalation (see services.findings)."""
