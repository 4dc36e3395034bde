"""Fault drills (`make test-faults`): the app under broker, worker and database failures.

4. test_broker_stream_drop: the Alpaca trade stream cut mid-fill, repeatedly.
5. test_worker_kill_and_broker_timeout: a worker SIGKILLed mid-submit; a broker that takes
   the order and times out; then a cancel.
6. test_postgres_restart: PostgreSQL stopped and started under load.
7. Fifty concurrent submits against one account never overspend:
   tests/trading/test_buying_power_holds.py::test_fifty_concurrent_submits_against_one_account_never_overspend
   (`make test-faults` runs it on PostgreSQL with the drills).
"""
