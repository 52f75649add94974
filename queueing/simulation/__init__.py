"""A simulated branch: the customers of a day (customers.py) and what happens to them.

Pure Python (SimPy for the event loop, no Django): bench/simulate.py runs it to test routing,
wait estimates and staffing advice, and `manage.py simulate_day` pushes the same customers
through the real service functions into the database.
"""
