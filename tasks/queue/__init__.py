"""Tasks themselves: the workflow and the lists and queues of units."""
