"""The GraphQL API: Starlette app, Strawberry schema, loaders and permissions."""
