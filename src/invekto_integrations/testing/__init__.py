"""Test support shipped with the library: the provider sandbox and the conformance kit."""
