"""Read queries answered by plan: the same resolvers, without graphql-core's work per field (endpoint.py)."""
