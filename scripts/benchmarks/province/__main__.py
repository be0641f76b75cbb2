from scripts.benchmarks.province.run import app

app(prog_name="./scripts/bench-province")
