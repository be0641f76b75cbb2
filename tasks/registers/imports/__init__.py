"""Imports of the county's files: the police population extract, the student roll, the census sheets.

reading (CSV and spreadsheets, streamed) → headers (the policy's column names) → checks (each cell)
→ one module per kind (population, roll, census) → run (the job: batches, progress, the summary).
"""
