# %% [markdown]
# # A tour of the front door, cell by cell
#
# Open in VS Code or Jupyter (jupytext) to run cell by cell, or run it whole:
# `.venv/bin/python examples/notebook_tour.py`. Everything runs in-process against the sandbox,
# on the sandbox's clock.

# %%
from datetime import timedelta

from pydantic import SecretStr

from invekto_integrations import Integrations
from invekto_integrations.models.accounts import Credentials
from invekto_integrations.progress import TextProgress

sandbox = Integrations.sandbox(["trendyol", "hepsiburada", "aras"])
client = sandbox.__enter__()  # in a notebook the client lives across cells; the last cell closes it
print(client)
print(client.fakes)

# %% [markdown]
# ## Two marketplaces, one customer

# %%
now = client.clock.now()
for fake in (client.fakes.trendyol, client.fakes.hepsiburada):
    seller = fake.provision_account("Moda İstanbul")
    client.accounts.add("moda", fake.name, seller.credentials, settings=seller.settings)
    fake.seed_orders(seller.account_key, 60, start=now - timedelta(days=40), end=now - timedelta(hours=1))
    fake.seed_customer_order(seller.account_key, "0532 412 34 56", "Ayşe Yılmaz", now - timedelta(days=2))
client.accounts.list("moda")

# %% [markdown]
# ## The backfill, with a progress bar (`RichProgress` / `TqdmProgress` with the `progress` extra)

# %%
with TextProgress() as bar:
    report = client.orders.sync("moda", progress=bar)
print(report)  # in a notebook, `report` alone renders as a table (_repr_html_)

# %% [markdown]
# ## Customer lookup by phone, in any Turkish form

# %%
found = client.orders.lookup("moda", "5324123456")
print(found)
for item in found.orders:
    print(" ", item.order)  # one line per order; `item.order` alone renders its lines as a table

# %% [markdown]
# ## An hour later: one order moves on, and an incremental sync picks it up

# %%
client.fakes.clock.advance(hours=1)  # type: ignore[attr-defined]
external_id = found.orders[0].order.external_id
client.fakes.hepsiburada.step_order(client.accounts.list("moda", provider="hepsiburada")[0].settings["merchant_id"],
                                    external_id, client.clock.now() - timedelta(minutes=5))
print(client.orders.sync("moda"))

# %% [markdown]
# ## Cargo: watch a parcel with Aras, poll as the clock moves

# %%
client.accounts.add("moda", "aras", Credentials(api_key=SecretStr("fake_user"), api_secret=SecretStr("fake_pass")),
                    settings={"customer_code": "1000000000001"})
client.fakes.aras.register_parcel("fake_user", "3500000000017", [(timedelta(hours=1), "1"), (timedelta(hours=20), "6")])
client.shipments.watch("moda", "Aras Kargo", "3500000000017", customer_phone="+905324123456")
for _ in range(3):  # the order sync announced parcels too: they are watched as well
    client.fakes.clock.advance(hours=12)  # type: ignore[attr-defined]
    print(client.shipments.poll("moda"))
print(client.shipments.list("moda", carrier="aras", active=False))

# %% [markdown]
# ## Per-request options: a copy of the client, nothing else changes

# %%
impatient = client.with_options(timeout=5.0, max_retries=0)
print(impatient, impatient.orders.sync("moda").fetched)

# %%
sandbox.__exit__(None, None, None)
