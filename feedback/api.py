"""REST API of this app (thin: serializers validate shape; services decide)."""
