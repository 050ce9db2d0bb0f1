"""The front's side of worker kernels: place sessions, forward HTTP and sockets.

A front runs no notebook code. Admission (access, parameters, origin, owner,
limits) is decided here exactly as with local kernels; then:

- a socket is placed on the least loaded live worker (or, for a known
  session id, on the worker holding it: a reconnect through any front
  resumes the same kernel), recorded in the Redis session directory, and
  pumped as numbered frames between this consumer's channel and the worker;
- an API call or download of a session is checked against the directory
  (owner key, page) and forwarded to the session's worker; the answer comes
  back to this process's mailbox channel.

When no worker is alive or all are full, or Redis is unreachable, the tab
shows marimo's startup-error dialog with a sentence saying so, and reloads
by itself once it can be served. A dead worker is noticed within one
heartbeat after its heartbeat key expired; a lost frame at the next one.

Modules: :mod:`.placement` (placing a session), :mod:`.consumer` (the socket
pump), :mod:`.forwarding` (HTTP forwarded to a worker, and the mailbox its
answers come to), :mod:`.health` (the cluster's health counts).
"""
