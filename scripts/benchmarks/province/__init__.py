"""The province benchmark: our liaison page beside PostGraphile, at province scale, under load and faults.

run.py runs it (`./scripts/bench-province`); page.py is the page asked of each; configs.py the server
configurations tried; mixed.py the mixed load and its faults; report.py the documents it writes."""
