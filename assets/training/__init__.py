"""The training group: the versioned training set and the candidate models trained on it."""
