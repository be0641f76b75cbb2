"""Mutations: thin resolvers that authorise, call an action, and map its result."""
