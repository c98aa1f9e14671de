"""The language server (`reglint server`, the `server` extra): `session` holds the projects
and the documents and runs the checks, `convert` maps findings to the protocol's types,
`server` speaks the protocol (pygls)."""
