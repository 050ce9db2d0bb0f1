"""The worker process (``manage.py notebook_worker``), one concern a module.

:mod:`.process` (the :class:`~.process.Worker`: run, drain, dispatch),
:mod:`.heartbeat` (counting kernels and announcing them), :mod:`.kernels`
(the worker's state and kernel bookkeeping), :mod:`.sockets` (opening a
kernel socket), :mod:`.pump` (one socket's numbered frames), :mod:`.serving`
(forwarded HTTP requests).
"""
