# %% [markdown]
# Quick start: two marketplaces, one sync, one customer found by phone (docs/quickstart.md).
# %%
from datetime import timedelta

from invekto_integrations import Integrations

with Integrations.sandbox(["trendyol", "hepsiburada"]) as client:
    week_ago = client.clock.now() - timedelta(days=7)
    for fake in (client.fakes.trendyol, client.fakes.hepsiburada):
        seller = fake.provision_account("Moda İstanbul")
        client.accounts.add("moda", fake.name, seller.credentials, settings=seller.settings)
        fake.seed_orders(seller.account_key, 25, start=week_ago - timedelta(days=20), end=week_ago)
        fake.seed_customer_order(seller.account_key, "0532 412 34 56", "Ayşe Yılmaz", week_ago)
    report = client.orders.sync("moda")
    found = client.orders.lookup("moda", "+90 532 412 3456")
    print(report)
    print(found)
