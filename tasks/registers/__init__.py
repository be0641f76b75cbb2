"""The county's registers: classes and the school roll, the population register and the household book,
the cross-check, and the imports that load them."""
