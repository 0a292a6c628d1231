"""The HTTP edge: uvicorn's httptools protocol with the limits a hostile client must meet.

Header and URL sizes are enforced while a request's head arrives, slow or silent connections
time out, each process caps its connections (evicting stalled ones first), the open-file limit
is raised at start, and accept errors are logged at most once a second. ``server.run`` starts
a uvicorn server with all of it; ``serve`` and every worker of ``serve --workers N`` use it.
"""
