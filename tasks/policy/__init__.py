"""The county's policy file: its shape, loading it, and the policy as the workers use it."""
