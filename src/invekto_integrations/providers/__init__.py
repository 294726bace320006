"""Providers: one folder and one entry point each (group ``invekto_integrations.providers``)."""
