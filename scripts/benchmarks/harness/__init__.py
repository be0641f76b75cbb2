"""What every benchmark shares: the database (database.py), bulk seeding (seeding.py, province_data.py), the
people who ask (people.py), the processes (servers.py, postgraphile.py), the load client (http.py, load.py)
and the report (report.py)."""
