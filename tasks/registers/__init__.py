"""The county's registers: the school roll and its classes, the population and the household book, imports."""
