"""Seeded demo data for a fictional Chinese car-dealer group: five CRM CSVs with Chinese headers.

company.py holds the dealer's fixed facts, draw.py the drawing and formatting helpers; customers,
orders, complaints, leads and interactions each have their generator; assemble.py builds the
tables, write.py writes the CSVs (`python -m crm_core.ingest.demo` regenerates data/demo/).
Part of ingest: imports only crm_core.engine (its settings) and itself.
"""

from crm_core.ingest.demo.assemble import build
from crm_core.ingest.demo.company import DEFAULT_END, DEFAULT_SEED
from crm_core.ingest.demo.write import generate, summary

__all__ = ["DEFAULT_END", "DEFAULT_SEED", "build", "generate", "summary"]
