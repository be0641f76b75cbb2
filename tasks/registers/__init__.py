"""The county's registers: classes and head teachers, the school roll and its movements, the graduate
handover and the dropout ledger (school side); the population register and the cross-check live beside them."""
