"""Everything that touches the operating system (or stands in for it, like simnet)."""
