"""Fakes of the real providers, each speaking its provider's documented wire format."""
