"""The routes, thin: check the caller's scope, call the core, shape the answer."""
