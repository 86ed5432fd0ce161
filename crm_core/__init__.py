"""CRM Lens core: data model, ingest, metrics and charts shared by the app and the CLI."""
