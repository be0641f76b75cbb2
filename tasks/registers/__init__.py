"""The county's registers: the population register, the household book, the cross-check."""
