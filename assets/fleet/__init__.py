"""The fleet group: drive logs as uploaded (partitioned by drive) and the frames table."""
