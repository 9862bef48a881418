"""The composition root: the one place that knows every part and wires them together
(design §3.1). ``app`` builds the ASGI app (the API's routers and the console beside them)
around the ``Services``; ``database`` opens and migrates the database for the commands. The
front doors (``api``, ``web``, the CLI) never import each other; the CLI reaches the app and
the database through here. Two modules, so a command that needs no app does not pay for
importing FastAPI."""
