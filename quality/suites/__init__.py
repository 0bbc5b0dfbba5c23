"""Expectation suites as code: one module per kind of table, each a function of its parameters."""
