"""Pure domain rules of the counter workstation: no Qt, no I/O."""
