"""Trading domain: accounts, positions, orders, fills, the order queue and broker gateways."""
