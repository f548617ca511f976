"""IPv4/IPv6 translation: stateless SIIT (RFC 7915) with RFC 6052 address mapping and an
explicit address mapping table (RFC 7757). Pure functions over packets, sans-I/O."""
