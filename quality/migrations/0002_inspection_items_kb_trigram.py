"""Inspection results keep the item's text and whether it was answered (helper I); a trigram
index for the knowledge base's search on PostgreSQL (helper H, docs/decisions.md)."""

import logging

from django.db import migrations, models, transaction
from django.db.utils import DatabaseError

logger = logging.getLogger(__name__)


def kb_trigram_index(apps, schema_editor):
    # PostgreSQL only (SQLite has no gin); the search is correct without it, only slower, so a
    # database role that may not create the extension just skips it.
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                "CREATE INDEX IF NOT EXISTS kb_search_trgm ON quality_knowledgeentry "
                "USING gin (search_text gin_trgm_ops)"
            )
    except DatabaseError as exc:
        logger.warning("knowledge base trigram index not created: %s", exc)


def drop_kb_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS kb_search_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="inspectionresult",
            name="answered",
            field=models.BooleanField(default=False, verbose_name="answered"),
        ),
        migrations.AddField(
            model_name="inspectionresult",
            name="text",
            field=models.CharField(blank=True, max_length=300, verbose_name="item"),
        ),
        migrations.RunPython(kb_trigram_index, drop_kb_trigram_index),
    ]
