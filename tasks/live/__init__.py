"""Live: what other processes and systems hear of a change (the bus, pushed subscriptions, webhooks)."""
