"""Mobile IPv6 (RFC 6275): the correspondent node's Binding Cache and return routability.

* :mod:`.return_routability` — Kcn, nonces and their indices, keygen tokens, Kbm and the
  Authenticator (RFC 6275 §5.2), HMAC-SHA1 from the standard library;
* :mod:`.binding_cache` — the Binding Cache (RFC 6275 §9.1), bounded;
* :mod:`.correspondent` — the correspondent node (RFC 6275 §9): Mobility Header input,
  Home Test and Care-of Test, Binding Update processing (RFC 6275 §9.5), route
  optimisation (RFC 6275 §9.3), Binding Errors and Binding Refresh Requests.
"""
