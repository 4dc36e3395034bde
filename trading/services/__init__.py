"""Write services of the trading domain; each runs in one transaction and signals after commit."""
