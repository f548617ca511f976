"""Hypothesis profiles, chosen by ``CI`` or ``HYPOTHESIS_PROFILE``:

* ``ci`` (under ``CI=true``, unless ``HYPOTHESIS_PROFILE`` says otherwise): derandomized
  and bounded, so that a CI run is repeatable;
* ``dev`` (the default): random, a little longer;
* ``deep`` (``make model-deep``): random, every model test's example budget times
  ``DEEP_FACTOR``, with a saved example database so that failures found are replayed first
  next time. The database is ``$TCPIP6_HYPOTHESIS_DB`` (a directory, which a team can put
  on a shared file system) or ``.hypothesis/examples``.

Model tests give their budgets through :func:`examples`, never as bare numbers, so that a
deeper profile really searches more instead of replaying the same examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

DEEP_FACTOR = 20


def database_path() -> str:
    return os.environ.get("TCPIP6_HYPOTHESIS_DB") or os.path.join(".hypothesis", "examples")


settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
# Hand mutation runs: the ci profile's examples, without shrinking (a kill is all they need).
settings.register_profile(
    "mutants",
    derandomize=True,
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=60 * DEEP_FACTOR,
    deadline=None,
    print_blob=True,
    database=DirectoryBasedExampleDatabase(database_path()),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def profile_name() -> str:
    """``HYPOTHESIS_PROFILE`` when given, else ``ci`` under ``CI``, else ``dev``."""
    return os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")


def examples(n: int) -> int:
    """A model test's example budget ``n``, scaled by the profile in force."""
    return n * DEEP_FACTOR if profile_name() == "deep" else n
