"""HTTP layer of the service: routes, request parsing and response shapes."""
