"""GraphQL object types, one concept a module."""
