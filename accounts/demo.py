"""The demo installation's shared facts (seed_demo, seed_quality_demo, the README)."""

DEMO_PASSWORD = "branchflow-demo"  # noqa: S105 - printed for the demo; not for production
