"""notebook_host against plain marimo, side by side, on this machine.

    python -m bench.compare [--tiny] [--out DIR] [--production-static]
                            [--runs N] [--only PHASE,...] [--profile]

Starts, once, (a) the demo project under daphne (bench/projects/compare_settings.py:
project.settings without its per-user session limit, since alice opens up to
100 sessions), as devtools.live.LiveServer does, signed in as alice (sign-in
is not measured), and (b) plain marimo, ``marimo.create_asgi_app()`` with the
same notebooks (devtools/plain_marimo.py) under uvicorn. Both serve
notebooks/dashboard.py at /dashboard/ and notebooks/whoami.py at /whoami/ on
127.0.0.1. Then, ``runs`` times (3), every figure of notebook_host, then every
figure of plain marimo (A B A B A B); each figure is the median of the runs,
with the spread. The figures (phases):

- ``page_load``: headless Chromium, navigation start until the dashboard's
  outputs are in the page and laid out (``svg#chart`` visible, its "N points"
  text shown): cold (fresh context, empty cache) and warm (second load in the
  same context); median of ``loads``;
- ``bytes``: a cold load of the dashboard, CDP ``Network.loadingFinished``
  encodedDataLength (wire bytes with headers) until the network is quiet, then
  whoami in the same context;
- ``slider``: the slider focused, ArrowRight/ArrowLeft alternately, from the
  keydown until the "N points" text changes (the page's clock); p50/p95, and a
  CDP trace of each move (:class:`SliderTrace`: key -> POST sent -> response,
  -> the socket frame with the new text -> DOM);
- ``post``: a protocol-level client (httpx + websockets), one session: change
  latency (POST sent -> dependent output frame) and the POST round trip alone;
- ``concurrency``: N sessions at once (100): each GETs the page, opens its
  socket and waits for the kernel's first outputs (session start), then, once
  all are up, makes widget changes; success rate, change p50/p95, changes/s,
  RSS per session from /proc;
- ``screens``: the dashboard on both, pixel by pixel (devtools/screens.py), once.

Whatever the demo serves at run time is measured (asset URLs are not assumed):
by default as ``make serve`` runs it (DEBUG on, marimo's frontend served from
the finders); ``--production-static`` (``make bench``) runs it as the README
deploys it: DJANGO_DEBUG=0 after ``collectstatic``, served before Django by
``serve_collected_static``. Prints a table and the issue's targets (met or
missed), writes bench/results/<date>[-production-static][-tiny].json and a PNG
(latency distributions, the targets' ratios per run). ``--tiny`` is a smoke run
for the test suite; every loop is bounded in count and time (Plan).

Its jobs are modules of this package: plan (how much, where results go),
servers (sign-in, the page's token, RSS), page_load, transfer (``bytes``),
slider, protocol (``post`` and ``concurrency``), report (the table and the PNG) and run (both
servers, every job, the command line); ``screens`` is devtools/screens.py.
"""
