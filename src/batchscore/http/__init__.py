"""What the two front doors (``api`` and ``web``) share below them: the HTTP status of each
error and the services a request was built with. Neither front door imports the other."""
