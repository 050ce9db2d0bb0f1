"""What targets tell the runtime, as Django signals: targets never import the runtime.

:mod:`notebook_host.runtime.registered_sync` connects the receivers when the
app is ready. ``rows_in_use`` is sent on every request for a registered
notebook, so receivers are cached per sender (always a target class).
"""

from django.dispatch import Signal

#: A served notebook's file or options changed, or its file is gone:
#: ``notebook``'s new sessions need a new app (old ones run on).
source_changed = Signal(use_caching=True)

#: Registered notebooks are in use in this process: watch their rows.
rows_in_use = Signal(use_caching=True)

#: No enabled row has this ``slug`` any more: stop serving it here
#: (sent with ``asend``; its receiver closes sessions).
slug_gone = Signal(use_caching=True)
