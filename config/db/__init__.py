"""Database backends of this project (DATABASES["default"]["ENGINE"])."""
