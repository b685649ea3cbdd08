"""``puljemonitor serve`` (issue 10): the figures and each municipality's own citizens over
HTTP, a live dashboard, and a stream of changes, scoped per caller as spec §9 requires.

:mod:`.source` is where figures come from (an interface: the log replay today, a Kafka feed
later), :mod:`.logsource` the log replay, :mod:`.figures` the answers (the CLI's report,
audit and disclosure functions, cached per version), :mod:`.access` tokens and roles,
:mod:`.shapes` the JSON shapes, :mod:`.hub` the change stream, :mod:`.app` the ASGI app,
:mod:`.openapi` its OpenAPI document, :mod:`.dashboard` the page for people.
"""
