"""One module per rule. A module here that defines a Rule subclass with a `code` registers
it; nothing else needs editing. The prefilter tokens live on each rule (`TOKENS`)."""
