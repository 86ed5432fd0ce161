"""python -m crm_core.ingest.demo: write the demo CSVs to data/demo/ and print their summary."""

from crm_core.engine import config
from crm_core.ingest.demo.write import generate, summary

if __name__ == "__main__":
    print(summary(generate(config.DEMO_DIR)))
