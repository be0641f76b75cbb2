"""The county's registers: the school roll and its classes, the population register, the household book,
the cross-check, and the imports that load them."""
