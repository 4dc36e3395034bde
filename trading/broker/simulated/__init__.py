"""The built-in simulated paper broker: a symbol universe, a price feed and a matching venue."""
