"""Pages of this app (thin: parse, call a service or selector, render)."""
